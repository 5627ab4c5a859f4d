/** Read side of the ledger: the queries behind the read API. */
import type { Severity } from "../alerts/schema.ts";
import type { IncidentStateName } from "../incidents/lifecycle.ts";
import { summariseEvent } from "../incidents/timeline-text.ts";
import type { Queryable } from "./database.ts";
import { latestDeliveries, type DeliveryView } from "./delivery-queries.ts";
import { INCIDENT_COLUMNS, incidentFromRow, type IncidentRow, type StoredIncident } from "./incidents.ts";
import { alertKey, ciKey } from "./keys.ts";

export interface CiSummary {
  id: string;
  resourceId: string | null;
  name: string;
  bound: boolean;
  subscriptionId: string | null;
  resourceGroup: string | null;
  providerType: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
  openIncidents: number;
}

export interface TimelineEntry {
  type: string;
  at: string;
  recordedAt: string;
  notificationId: string | null;
  actor: string | null;
  detail: Record<string, unknown>;
  /** The event in words (incidents/timeline-text.ts). */
  summary: string;
}

export interface IncidentFilter {
  alertId?: string;
  kind?: "alert" | "group" | "storm";
  /** Members of a group or storm incident. */
  problemId?: string;
  state?: IncidentStateName;
  severity?: Severity;
  /** A CI id, or an ARM resource id (any casing). */
  ci?: string;
  firedFrom?: string;
  firedTo?: string;
  limit: number;
  /** Keyset position: the last item of the previous page. */
  after?: { firedAt: string; id: string };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);

const CI_COLUMNS = `ci.id::text AS id, ci.resource_id, ci.name, ci.bound, ci.subscription_id, ci.resource_group, ci.provider_type,
  to_json(ci.first_seen_at)#>>'{}' AS first_seen_at, to_json(ci.last_seen_at)#>>'{}' AS last_seen_at,
  (SELECT count(*)::int FROM incident_configuration_items l JOIN incidents i ON i.id = l.incident_id
    WHERE l.ci_id = ci.id AND i.state = 'open') AS open_incidents`;

interface CiRow {
  id: string;
  resource_id: string | null;
  name: string;
  bound: boolean;
  subscription_id: string | null;
  resource_group: string | null;
  provider_type: string | null;
  first_seen_at: string;
  last_seen_at: string;
  open_incidents: number;
}

function ciFromRow(row: CiRow): CiSummary {
  return {
    id: row.id,
    resourceId: row.resource_id,
    name: row.name,
    bound: row.bound,
    subscriptionId: row.subscription_id,
    resourceGroup: row.resource_group,
    providerType: row.provider_type,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    openIncidents: row.open_incidents,
  };
}

export async function listIncidents(db: Queryable, filter: IncidentFilter): Promise<StoredIncident[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.alertId) where.push(`alert_key = ${param(alertKey(filter.alertId))}`);
  if (filter.kind) where.push(`kind = ${param(filter.kind)}`);
  if (filter.problemId) {
    const id = param(filter.problemId);
    where.push(`(problem_id = ${id}::uuid OR (jsonb_typeof(noise -> 'storms') = 'object' AND EXISTS (SELECT 1 FROM jsonb_each_text(noise -> 'storms') s WHERE s.value = ${id}::text)))`);
  }
  if (filter.state) where.push(`state = ${param(filter.state)}`);
  if (filter.severity) where.push(`severity = ${param(filter.severity)}`);
  if (filter.firedFrom) where.push(`fired_at >= ${param(filter.firedFrom)}::timestamptz`);
  if (filter.firedTo) where.push(`fired_at < ${param(filter.firedTo)}::timestamptz`);
  if (filter.ci) {
    const ciMatch = isUuid(filter.ci) ? `ci.id = ${param(filter.ci)}::uuid` : `ci.ci_key = ${param(ciKey({ resourceId: filter.ci }))}`;
    where.push(`id IN (SELECT l.incident_id FROM incident_configuration_items l JOIN configuration_items ci ON ci.id = l.ci_id WHERE ${ciMatch})`);
  }
  if (filter.after) where.push(`(fired_at, id) < (${param(filter.after.firedAt)}::timestamptz, ${param(filter.after.id)}::uuid)`);
  const { rows } = await db.query<IncidentRow>(
    `SELECT ${INCIDENT_COLUMNS} FROM incidents ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
     ORDER BY fired_at DESC, id DESC LIMIT ${param(filter.limit)}`,
    params,
  );
  return rows.map(incidentFromRow);
}

export async function getIncident(db: Queryable, id: string): Promise<StoredIncident | null> {
  if (!isUuid(id)) return null;
  const { rows } = await db.query<IncidentRow>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = $1::uuid`, [id]);
  return rows[0] ? incidentFromRow(rows[0]) : null;
}

/** The CIs of each incident, by incident id. */
export async function incidentCis(db: Queryable, incidentIds: readonly string[]): Promise<Map<string, CiSummary[]>> {
  const result = new Map<string, CiSummary[]>(incidentIds.map((id) => [id, []]));
  if (incidentIds.length === 0) return result;
  const { rows } = await db.query<CiRow & { incident_id: string }>(
    `SELECT l.incident_id::text AS incident_id, ${CI_COLUMNS}
     FROM incident_configuration_items l JOIN configuration_items ci ON ci.id = l.ci_id
     WHERE l.incident_id = ANY($1::uuid[]) ORDER BY ci.bound DESC, ci.name`,
    [incidentIds],
  );
  for (const row of rows) result.get(row.incident_id)?.push(ciFromRow(row));
  return result;
}

export async function incidentTimeline(db: Queryable, incidentId: string): Promise<TimelineEntry[]> {
  const { rows } = await db.query<{ type: string; at: string; recorded_at: string; notification_id: string | null; actor: string | null; detail: unknown }>(
    `SELECT type, to_json(at)#>>'{}' AS at, to_json(recorded_at)#>>'{}' AS recorded_at, notification_id::text AS notification_id, actor, detail
     FROM incident_events WHERE incident_id = $1::uuid ORDER BY id`,
    [incidentId],
  );
  return rows.map((r) => {
    const detail = (typeof r.detail === "string" ? JSON.parse(r.detail) : r.detail) as Record<string, unknown>;
    return { type: r.type, at: r.at, recordedAt: r.recorded_at, notificationId: r.notification_id, actor: r.actor, detail, summary: summariseEvent(r.type, r.actor, detail) };
  });
}

export async function listCis(db: Queryable, filter: { bound?: boolean; limit: number; after?: string }): Promise<CiSummary[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.bound !== undefined) {
    params.push(filter.bound);
    where.push(`ci.bound = $${params.length}`);
  }
  if (filter.after) {
    params.push(filter.after);
    where.push(`ci.id > $${params.length}::uuid`);
  }
  params.push(filter.limit);
  const { rows } = await db.query<CiRow>(
    `SELECT ${CI_COLUMNS} FROM configuration_items ci ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ci.id LIMIT $${params.length}`,
    params,
  );
  return rows.map(ciFromRow);
}

export async function getCi(db: Queryable, id: string): Promise<CiSummary | null> {
  const byUuid = isUuid(id);
  const { rows } = await db.query<CiRow>(`SELECT ${CI_COLUMNS} FROM configuration_items ci WHERE ${byUuid ? "ci.id = $1::uuid" : "ci.ci_key = $1"}`, [
    byUuid ? id : ciKey({ resourceId: id }),
  ]);
  return rows[0] ? ciFromRow(rows[0]) : null;
}

export interface IncidentWithRelations {
  incident: StoredIncident;
  cis: CiSummary[];
  deliveries: DeliveryView[];
}

/** Incidents with what the API shows beside each: its CIs and its latest delivery per connector. */
export async function incidentsWithRelations(db: Queryable, incidents: readonly StoredIncident[]): Promise<IncidentWithRelations[]> {
  const ids = incidents.map((i) => i.id);
  const [cis, deliveries] = await Promise.all([incidentCis(db, ids), latestDeliveries(db, ids)]);
  return incidents.map((incident) => ({ incident, cis: cis.get(incident.id) ?? [], deliveries: deliveries.get(incident.id) ?? [] }));
}

/**
 * The open incidents of the receiver's own alerts (family secure-export) whose alertId starts with
 * `prefix`, e.g. every `secure-export/credential-expiry/…`: found through the open-incidents index.
 */
export async function openSelfAlertIncidents(db: Queryable, prefix: string): Promise<Array<{ alertId: string; firedAt: string }>> {
  const { rows } = await db.query<{ alert_id: string; fired_at: string }>(
    "SELECT alert_id, to_json(fired_at)#>>'{}' AS fired_at FROM incidents WHERE state = 'open' AND family = 'secure-export' AND starts_with(alert_id, $1)",
    [prefix],
  );
  return rows.map((r) => ({ alertId: r.alert_id, firedAt: new Date(r.fired_at).toISOString() }));
}
