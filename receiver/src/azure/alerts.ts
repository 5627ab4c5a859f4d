/**
 * Azure Monitor alerts as the receiver changes and reads them (docs/incidents.md#the-closed-loop):
 * - the write-back: when an incident is resolved by any path but Azure's own (a person in the ITSM,
 *   an operator, the quiet period), its alert's user response becomes Closed, and an
 *   acknowledgement makes it Acknowledged. It is a target of the outbox (retries, Retry-After, dead
 *   letter, replay), delivered as the receiver's managed identity:
 *   POST {AZURE_RESOURCE_MANAGER_ENDPOINT}{essentials.alertId}/changestate?api-version=2019-03-01&newState=Closed
 *   with body {"comments": "…"} (Alerts_ChangeState; the body is the `Comments` definition of the
 *   2025-05-25-preview spec: plural, although that spec's own example sends "comment");
 * - Azure's view of many alerts at once, for reconciliation: Azure Resource Graph's
 *   `alertsmanagementresources` table (POST /providers/Microsoft.ResourceGraph/resources), in
 *   batches, within Resource Graph's quota (15 queries per 5 seconds per user).
 * The contracts are kept in test/fixtures/azure-rest-api-specs/, which the ARM stand-in applies.
 */
import type { IncidentEvent } from "../incidents/lifecycle.ts";
import { DeliveryError, type Connector, type ConnectorCheck, type DeliveryAction, type DeliveryJob } from "../outbox/delivery.ts";
import { ArmError, type ArmClient } from "./arm.ts";
import { ManagedIdentityTokenError } from "./managed-identity.ts";

/** The outbox's name for the write-back; `@` keeps it apart from any connector name (routing/rules-schema.ts). */
export const AZURE_ALERTS = "@azure-monitor";
export const ALERTS_API_VERSION = "2019-03-01";
export const RESOURCE_GRAPH_API_VERSION = "2024-04-01";
/** Operations_List as the stored specification declares it (2025-05-25-preview); it needs no role, only a token ARM accepts. */
const OPERATIONS_API_VERSION = "2025-05-25-preview";
/** Alert ids per Resource Graph query: each is about 110 characters, and a query stays well under its size limits. */
export const GRAPH_BATCH = 100;
/** ARM does not document a limit on the comment; the portal shows a short text, and a long one helps nobody. */
const COMMENT_MAX = 1000;

const ALERT_ID = /^\/subscriptions\/([0-9a-f-]{36})\/(?:.*\/)?providers\/Microsoft\.AlertsManagement\/alerts\/[^/]+$/i;

/** The subscription of an alert id, or null when it is not an Azure Monitor alert id. */
export function alertSubscription(alertId: string): string | null {
  return ALERT_ID.exec(alertId)?.[1]?.toLowerCase() ?? null;
}

/** Resolutions Azure does not know of: its alert is closed for them. Azure's own resolve and reconciliation come from Azure. */
const WRITTEN_BACK = new Set(["operator", "itsm", "quiet_period"]);

/** What the Azure alert of an incident is sent for one of its events. */
export function azureActionsFor(event: IncidentEvent): DeliveryAction[] {
  if (event.type === "resolved" && WRITTEN_BACK.has(String(event.detail.resolution))) return ["resolve"];
  if (event.type === "acknowledged") return ["acknowledge"];
  return [];
}

const NEW_STATE: Partial<Record<DeliveryAction, "Closed" | "Acknowledged">> = { resolve: "Closed", acknowledge: "Acknowledged" };

/** Changes an alert's user response (Alerts_ChangeState). Throws ArmError. */
export async function changeAlertState(arm: ArmClient, alertId: string, newState: "New" | "Acknowledged" | "Closed", comments: string): Promise<void> {
  await arm.request({
    method: "POST",
    path: `${alertId}/changestate`,
    apiVersion: ALERTS_API_VERSION,
    query: { newState },
    body: { comments: comments.length > COMMENT_MAX ? `${comments.slice(0, COMMENT_MAX - 1)}…` : comments },
  });
}

/**
 * A failed ARM call as the outbox sees it. 401 and 403 are retried like 429 and 5xx: a role
 * assignment takes minutes to apply and gets fixed without the alert changing; meanwhile the
 * delivery shows the error (GET /api/deliveries) and is dead-lettered at its deadline.
 */
function deliveryError(error: unknown): DeliveryError {
  if (error instanceof ArmError) {
    const retryable = error.retryable || error.status === 401 || error.status === 403;
    return new DeliveryError(error.message, { retryable, ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) });
  }
  if (error instanceof ManagedIdentityTokenError) return new DeliveryError(`${error.code}: ${error.message}`, { retryable: true });
  return new DeliveryError(String((error as Error)?.message ?? error), { retryable: true });
}

/** The write-back as an outbox target: the outbox retries, dead-letters and replays it like any ITSM delivery. */
export class AzureAlertTarget implements Connector {
  readonly name = AZURE_ALERTS;
  private readonly arm: ArmClient;

  constructor(arm: ArmClient) {
    this.arm = arm;
  }

  /** Idempotent: setting the state an alert already has changes nothing. */
  async deliver(job: DeliveryJob): Promise<null> {
    const newState = NEW_STATE[job.action];
    if (!newState) return null;
    if (!alertSubscription(job.snapshot.alertId)) {
      throw new DeliveryError(`${job.snapshot.alertId} is not an Azure Monitor alert id (/subscriptions/…/providers/Microsoft.AlertsManagement/alerts/…); nothing to change in Azure`, { retryable: false });
    }
    try {
      await changeAlertState(this.arm, job.snapshot.alertId, newState, job.snapshot.said ?? `${newState} by secure-export`);
    } catch (error) {
      throw deliveryError(error);
    }
    return null;
  }

  /** A token and one call that needs no role (Operations_List): the identity works and ARM takes its token. */
  async check(): Promise<ConnectorCheck> {
    const what = `Azure Resource Manager at ${this.arm.endpoint}`;
    try {
      await this.arm.request({ method: "GET", path: "/providers/Microsoft.AlertsManagement/operations", apiVersion: OPERATIONS_API_VERSION });
      return { ok: true, detail: `${what} accepted the managed identity's token` };
    } catch (error) {
      return { ok: false, detail: `${what}: ${deliveryError(error).message}` };
    }
  }
}

/** Azure's view of one alert. */
export interface AlertView {
  alertId: string;
  monitorCondition: string | null;
  alertState: string | null;
  lastModifiedAt: string | null;
  lastModifiedBy: string | null;
}

/** Resource Graph's remaining quota, from its headers (x-ms-user-quota-remaining, x-ms-user-quota-resets-after hh:mm:ss). */
export interface GraphQuota {
  remaining: number | null;
  resetsAfterMs: number | null;
}

function quotaOf(headers: Headers): GraphQuota {
  const remaining = Number(headers.get("x-ms-user-quota-remaining") ?? NaN);
  const resets = /^(\d+):(\d{2}):(\d{2})(?:\.\d+)?$/.exec(headers.get("x-ms-user-quota-resets-after") ?? "");
  return {
    remaining: Number.isFinite(remaining) ? remaining : null,
    resetsAfterMs: resets ? ((Number(resets[1]) * 60 + Number(resets[2])) * 60 + Number(resets[3])) * 1000 : null,
  };
}

/** A KQL string literal: single quotes, backslashes and quotes escaped. */
function kqlString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** The Resource Graph query for one batch of alert ids. */
export function alertStatesQuery(alertIds: readonly string[]): string {
  return [
    "alertsmanagementresources",
    `| where id in~ (${alertIds.map(kqlString).join(", ")})`,
    "| project id, monitorCondition = tostring(properties.essentials.monitorCondition), alertState = tostring(properties.essentials.alertState),",
    "  lastModifiedDateTime = tostring(properties.essentials.lastModifiedDateTime), lastModifiedUserName = tostring(properties.essentials.lastModifiedUserName)",
  ].join("\n");
}

interface GraphRow {
  id?: unknown;
  monitorCondition?: unknown;
  alertState?: unknown;
  lastModifiedDateTime?: unknown;
  lastModifiedUserName?: unknown;
}

const str = (v: unknown) => (typeof v === "string" && v ? v : null);

/**
 * Azure's view of up to GRAPH_BATCH alerts in one Resource Graph query, over their subscriptions.
 * An alert Azure no longer has (kept 30 days) is simply absent. Throws ArmError.
 */
export async function readAlertStates(arm: ArmClient, alertIds: readonly string[]): Promise<{ views: AlertView[]; quota: GraphQuota }> {
  if (alertIds.length > GRAPH_BATCH) throw new Error(`at most ${GRAPH_BATCH} alerts per query, got ${alertIds.length}`);
  const subscriptions = [...new Set(alertIds.map(alertSubscription).filter((s): s is string => s !== null))];
  if (subscriptions.length === 0) return { views: [], quota: { remaining: null, resetsAfterMs: null } };
  const response = await arm.request({
    method: "POST",
    path: "/providers/Microsoft.ResourceGraph/resources",
    apiVersion: RESOURCE_GRAPH_API_VERSION,
    body: { subscriptions, query: alertStatesQuery(alertIds), options: { resultFormat: "objectArray", $top: 1000 } },
  });
  const data = (response.body as { data?: unknown } | null)?.data;
  const rows = Array.isArray(data) ? (data as GraphRow[]) : [];
  const views = rows.flatMap((row) =>
    typeof row.id === "string"
      ? [{ alertId: row.id, monitorCondition: str(row.monitorCondition), alertState: str(row.alertState), lastModifiedAt: str(row.lastModifiedDateTime), lastModifiedBy: str(row.lastModifiedUserName) }]
      : [],
  );
  return { views, quota: quotaOf(response.headers) };
}
