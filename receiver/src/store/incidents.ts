/** Persistence of the incident ledger; the decisions are incidents/lifecycle.ts's. */
import type { Incident, IncidentEvent } from "../incidents/lifecycle.ts";
import type { Queryable } from "./database.ts";

export interface StoredIncident extends Incident {
  id: string;
}

interface IncidentRow {
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
  signal_type, family, alert_rule, to_json(fired_at)#>>'{}' AS fired_at, to_json(resolved_at)#>>'{}' AS resolved_at,
  last_at, last_rank, last_key`;

function fromRow(row: IncidentRow): StoredIncident {
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
    firedAt: row.fired_at,
    resolvedAt: row.resolved_at,
    last: { at: row.last_at, rank: row.last_rank as 0 | 1, key: row.last_key },
  };
}

export { fromRow as incidentFromRow, type IncidentRow };

/** Locks the alert's incident for the rest of the transaction, so concurrent notifications apply one at a time. */
export async function lockIncidentByAlertId(tx: Queryable, alertId: string): Promise<StoredIncident | null> {
  const { rows } = await tx.query<IncidentRow>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE alert_id = $1 FOR UPDATE`, [alertId]);
  return rows[0] ? fromRow(rows[0]) : null;
}

export async function lockIncidentById(tx: Queryable, id: string): Promise<StoredIncident | null> {
  const { rows } = await tx.query<IncidentRow>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = $1::uuid FOR UPDATE`, [id]);
  return rows[0] ? fromRow(rows[0]) : null;
}

function values(i: Incident): unknown[] {
  return [i.alertId, i.state, i.resolution, i.severity, i.title, i.description, i.monitoringService, i.signalType, i.family, i.alertRule, i.firedAt, i.resolvedAt, i.last.at, i.last.rank, i.last.key];
}

/** Inserts a new incident; null when another transaction created it first (then lock and apply again). */
export async function insertIncident(tx: Queryable, incident: Incident): Promise<string | null> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO incidents (alert_id, state, resolution, severity, title, description, monitoring_service, signal_type, family,
       alert_rule, fired_at, resolved_at, last_at, last_rank, last_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (alert_id) DO NOTHING RETURNING id::text AS id`,
    values(incident),
  );
  return rows[0]?.id ?? null;
}

export async function updateIncident(tx: Queryable, id: string, incident: Incident): Promise<void> {
  await tx.query(
    `UPDATE incidents SET alert_id = $1, state = $2, resolution = $3, severity = $4, title = $5, description = $6,
       monitoring_service = $7, signal_type = $8, family = $9, alert_rule = $10, fired_at = $11, resolved_at = $12,
       last_at = $13, last_rank = $14, last_key = $15, updated_at = now()
     WHERE id = $16::uuid`,
    [...values(incident), id],
  );
}

export async function appendEvents(tx: Queryable, incidentId: string, events: readonly IncidentEvent[]): Promise<void> {
  if (events.length === 0) return;
  // One statement for the whole batch: round trips, not rows, are what the intake path pays for.
  await tx.query(
    `INSERT INTO incident_events (incident_id, type, at, notification_id, actor, detail)
     SELECT $1::uuid, e.type, e.at, e.notification_id, e.actor, e.detail
     FROM unnest($2::text[], $3::timestamptz[], $4::bigint[], $5::text[], $6::jsonb[]) WITH ORDINALITY
       AS e(type, at, notification_id, actor, detail, n)
     ORDER BY e.n`,
    [
      incidentId,
      events.map((e) => e.type),
      events.map((e) => e.at),
      events.map((e) => e.notificationId),
      events.map((e) => e.actor),
      events.map((e) => JSON.stringify(e.detail)),
    ],
  );
}
