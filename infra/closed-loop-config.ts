/**
 * The closed loop's stack config (docs/deploy/pulumi.md#the-closed-loop), checked before anything
 * is created: which ITSM client applications get the `Itsm.Sync` app role, whether the receiver
 * closes Azure alerts, and at which scopes its identity may read and change them.
 */
import { StackConfigError } from "./stack-config-error.ts";

export interface ClosedLoopSettings {
  /** Application (client) ids of the ITSMs' client applications (ServiceNow's OAuth profile, a BMC webhook's). */
  itsmSyncClients: string[];
  /** AZURE_ALERT_SYNC: on unless `alertSync` is false. */
  alertSync: boolean;
  /** Where the receiver's identity may read and change alerts; empty: the stack's subscription. */
  alertSyncScopes: string[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A subscription, a resource group in one, or a management group: where Azure RBAC assigns roles. */
const SCOPE = /^(\/subscriptions\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\/resourceGroups\/[-\w._()]+)?|\/providers\/Microsoft\.Management\/managementGroups\/[-\w._()]+)$/i;

function list(raw: Readonly<Record<string, string | undefined>>, key: string): string[] {
  const value = raw[key]?.trim();
  if (!value) return [];
  let items: unknown;
  try {
    items = value.startsWith("[") ? JSON.parse(value) : value.split(",").map((item) => item.trim()).filter(Boolean);
  } catch {
    throw new StackConfigError(key, `must be a JSON list, got ${value}`);
  }
  if (!Array.isArray(items) || items.some((item) => typeof item !== "string")) throw new StackConfigError(key, `must be a list of strings, got ${value}`);
  return items as string[];
}

export function parseClosedLoop(raw: Readonly<Record<string, string | undefined>>, ownsApplication: boolean): ClosedLoopSettings {
  const clients = list(raw, "itsmSyncClients");
  const bad = clients.find((c) => !GUID.test(c));
  if (bad) throw new StackConfigError("itsmSyncClients", `must list application (client) ids, GUIDs; "${bad}" is not one`);
  if (clients.length > 0 && !ownsApplication) throw new StackConfigError("itsmSyncClients", "has no effect with identityStack: set it on the stack that owns the application");
  const sync = raw.alertSync?.trim();
  if (sync !== undefined && sync !== "" && sync !== "true" && sync !== "false") throw new StackConfigError("alertSync", `must be true or false, got "${sync}"`);
  const scopes = list(raw, "alertSyncScopes");
  const wrong = scopes.find((s) => !SCOPE.test(s));
  if (wrong) {
    throw new StackConfigError("alertSyncScopes", `must list subscriptions (/subscriptions/<id>), resource groups (/subscriptions/<id>/resourceGroups/<name>) or management groups (/providers/Microsoft.Management/managementGroups/<id>); "${wrong}" is none of them`);
  }
  return { itsmSyncClients: [...new Set(clients.map((c) => c.toLowerCase()))], alertSync: sync !== "false", alertSyncScopes: [...new Set(scopes)] };
}
