/**
 * Persistence of the incident ledger; the decisions are incidents/lifecycle.ts's. Writes are
 * set-based: one statement per kind of row for a whole batch, whatever its size.
 */
import type { Incident, IncidentEvent } from "../incidents/lifecycle.ts";
import type { Queryable, Transaction } from "./database.ts";
import { alertKey } from "./keys.ts";

export interface StoredIncident extends Incident {
  id: string;
}

export interface IncidentRow {
  id: string;
  alert_id: string;
  state: Incident["state"];
  resolution: Incident["resolution"];
  severity: Incident["severity"];
  title: string;
  description: string | null;
  monitoring_service: string;
  signal_type: string | null;
  family: Incident["family"];
  alert_rule: string | null;
  fired_at: string;
  resolved_at: string | null;
  last_at: string;
  last_rank: number;
  last_key: string;
}

export const INCIDENT_COLUMNS = `id::text AS id, alert_id, state, resolution, severity, title, description, monitoring_service,
  signal_type, family, alert_rule, to_json(fired_at)#>>'{}' AS fired_at, to_json(resolved_at)#>>'{}' AS resolved_at, last_at, last_rank, last_key`;

/** Timestamps as the API shows them: ISO 8601 in UTC (the sessions run in UTC, see the drivers). */
export function isoTime(value: string): string;
export function isoTime(value: string | null): string | null;
export function isoTime(value: string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

export function incidentFromRow(row: IncidentRow): StoredIncident {
  return {
    id: row.id,
    alertId: row.alert_id,
    state: row.state,
    resolution: row.resolution,
    severity: row.severity,
    title: row.title,
    description: row.description,
    monitoringService: row.monitoring_service,
    signalType: row.signal_type,
    family: row.family,
    alertRule: row.alert_rule,
    firedAt: isoTime(row.fired_at),
    resolvedAt: isoTime(row.resolved_at),
    last: { at: row.last_at, rank: row.last_rank as 0 | 1, key: row.last_key },
  };
}

/**
 * Locks the incidents of these alerts for the rest of the transaction, in one global order
 * (alert key), so concurrent batches on several replicas never deadlock on each other.
 */
export async function lockIncidentsByAlertId(tx: Queryable, alertIds: readonly string[]): Promise<StoredIncident[]> {
  if (alertIds.length === 0) return [];
  const keys = [...new Set(alertIds.map(alertKey))].sort();
  const { rows } = await tx.query<IncidentRow>(
    `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE alert_key = ANY($1::text[]) ORDER BY alert_key FOR UPDATE`,
    [keys],
    { name: "ledger-lock-incidents" },
  );
  return rows.map(incidentFromRow);
}

export async function lockIncidentById(tx: Queryable, id: string): Promise<StoredIncident | null> {
  const { rows } = await tx.query<IncidentRow>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = $1::uuid FOR UPDATE`, [id]);
  return rows[0] ? incidentFromRow(rows[0]) : null;
}

/** Open incidents of a family whose last change is at or before `cutoff`, locked; others' locks are skipped. */
export async function lockQuietIncidents(tx: Queryable, family: string, cutoff: string, limit: number): Promise<StoredIncident[]> {
  const { rows } = await tx.query<IncidentRow>(
    `SELECT ${INCIDENT_COLUMNS} FROM incidents
     WHERE state = 'open' AND family = $1 AND last_at::timestamptz <= $2::timestamptz
     ORDER BY fired_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
    [family, cutoff, limit],
  );
  return rows.map(incidentFromRow);
}

function record(i: StoredIncident) {
  return {
    id: i.id,
    alert_id: i.alertId,
    alert_key: alertKey(i.alertId),
    state: i.state,
    resolution: i.resolution,
    severity: i.severity,
    title: i.title,
    description: i.description,
    monitoring_service: i.monitoringService,
    signal_type: i.signalType,
    family: i.family,
    alert_rule: i.alertRule,
    fired_at: i.firedAt,
    resolved_at: i.resolvedAt,
    last_at: i.last.at,
    last_rank: i.last.rank,
    last_key: i.last.key,
  };
}

const RECORD_COLUMNS = `id uuid, alert_id text, alert_key text, state text, resolution text, severity text, title text,
  description text, monitoring_service text, signal_type text, family text, alert_rule text, fired_at timestamptz,
  resolved_at timestamptz, last_at text, last_rank smallint, last_key text`;

/**
 * Inserts new incidents. A plain INSERT on purpose: when another replica created the same
 * incident meanwhile, the unique violation fails the whole transaction (nothing acknowledged),
 * and the batch runs again, this time finding and locking theirs.
 */
export function insertIncidents(tx: Transaction, incidents: readonly StoredIncident[]): void {
  if (incidents.length === 0) return;
  tx.later(
    `INSERT INTO incidents (id, alert_id, alert_key, state, resolution, severity, title, description, monitoring_service,
       signal_type, family, alert_rule, fired_at, resolved_at, last_at, last_rank, last_key)
     SELECT * FROM json_to_recordset($1::json) AS t(${RECORD_COLUMNS}) ORDER BY alert_key`,
    [JSON.stringify(incidents.map(record))],
    { name: "ledger-insert-incidents" },
  );
}

export function updateIncidents(tx: Transaction, incidents: readonly StoredIncident[]): void {
  if (incidents.length === 0) return;
  tx.later(
    `UPDATE incidents i SET state = t.state, resolution = t.resolution, severity = t.severity, title = t.title,
       description = t.description, monitoring_service = t.monitoring_service, signal_type = t.signal_type,
       family = t.family, alert_rule = t.alert_rule, fired_at = t.fired_at, resolved_at = t.resolved_at,
       last_at = t.last_at, last_rank = t.last_rank, last_key = t.last_key, updated_at = now()
     FROM json_to_recordset($1::json) AS t(${RECORD_COLUMNS}) WHERE i.id = t.id`,
    [JSON.stringify(incidents.map(record))],
    { name: "ledger-update-incidents" },
  );
}

/** Appends timeline events; their ids follow the order given, which is the timeline's order. */
export function appendEvents(tx: Transaction, events: ReadonlyArray<IncidentEvent & { incidentId: string }>): void {
  if (events.length === 0) return;
  tx.later(
    `INSERT INTO incident_events (incident_id, type, at, notification_id, actor, detail)
     SELECT incident_id, type, at, notification_id, actor, detail
     FROM json_to_recordset($1::json) AS t(n int, incident_id uuid, type text, at timestamptz, notification_id bigint, actor text, detail jsonb)
     ORDER BY n`,
    [
      JSON.stringify(
        events.map((e, n) => ({ n, incident_id: e.incidentId, type: e.type, at: e.at, notification_id: e.notificationId, actor: e.actor, detail: e.detail })),
      ),
    ],
    { name: "ledger-append-events" },
  );
}
