/**
 * The heartbeat through the real action group (docs/configuration.md#the-heartbeat): how often,
 * through which action group, to which public URL, for which application. Off unless both
 * HEARTBEAT_INTERVAL is not `0`/`off` and HEARTBEAT_ACTION_GROUP_ID is set; then the rest is required.
 */
import { ConfigError, duration, httpUrl, text, type Env } from "../env.ts";

export interface HeartbeatConfig {
  intervalMs: number;
  /** HEARTBEAT_ACTION_GROUP_ID: the action group's ARM resource id. */
  actionGroupId: string;
  /** PUBLIC_URL: where Azure reaches this receiver, without a trailing slash. */
  publicUrl: string;
  /** ENTRA_APP_OBJECT_ID: the application's object id (Azure's secure webhook names the app by it). */
  appObjectId: string;
  /** The App ID URI Azure's token is for: the first of ENTRA_AUDIENCES that is not a bare client id. */
  identifierUri: string;
  tenantId: string;
}

const ACTION_GROUP_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Insights\/actionGroups\/[^/]+$/i;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function objectId(env: Env): string {
  const value = text(env, "ENTRA_APP_OBJECT_ID");
  if (!GUID.test(value)) throw new ConfigError("ENTRA_APP_OBJECT_ID", `must be a GUID (the application's object id, not its client id), got "${value}"`);
  return value.toLowerCase();
}

/** null: the heartbeat is off. */
export function heartbeatConfigFromEnv(env: Env, auth: { audiences: readonly string[]; tenantId: string }): HeartbeatConfig | null {
  const raw = text(env, "HEARTBEAT_INTERVAL", "15m");
  // Each heartbeat is a test notification through Azure: more often than a minute proves nothing more.
  const intervalMs = raw === "0" ? null : duration(env, "HEARTBEAT_INTERVAL", "15m", { minMs: 60_000, maxMs: 24 * 3_600_000, allowOff: true });
  const actionGroupId = env.HEARTBEAT_ACTION_GROUP_ID?.trim();
  if (intervalMs === null || !actionGroupId) return null;
  if (!ACTION_GROUP_ID.test(actionGroupId)) throw new ConfigError("HEARTBEAT_ACTION_GROUP_ID", `must be an action group's resource id (/subscriptions/…/resourceGroups/…/providers/Microsoft.Insights/actionGroups/…), got "${actionGroupId}"`);
  const identifierUri = auth.audiences.find((a) => !GUID.test(a));
  if (!identifierUri) throw new ConfigError("ENTRA_AUDIENCES", "must include the App ID URI (api://…) for the heartbeat: Azure's secure webhook asks for a token for it");
  return {
    intervalMs,
    actionGroupId,
    publicUrl: httpUrl(env, "PUBLIC_URL"),
    appObjectId: objectId(env),
    identifierUri,
    tenantId: auth.tenantId,
  };
}
