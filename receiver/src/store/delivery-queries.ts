/** Read side of the outbox: deliveries as operators and the incident API see them. */
import type { DeliveryAction } from "../outbox/delivery.ts";
import type { Queryable } from "./database.ts";

export interface DeliveryView {
  id: string;
  incidentId: string;
  connector: string;
  action: DeliveryAction;
  status: "pending" | "delivered" | "dead";
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
  externalId: string | null;
  externalNumber: string | null;
}

const VIEW_COLUMNS = `d.id::text AS id, d.incident_id::text AS incident_id, d.connector, d.action, d.status, d.attempts, d.last_error,
  to_json(d.next_attempt_at)#>>'{}' AS next_attempt_at, to_json(d.created_at)#>>'{}' AS created_at,
  to_json(d.delivered_at)#>>'{}' AS delivered_at, l.external_id, l.external_number`;

type ViewRow = {
  id: string; incident_id: string; connector: string; action: DeliveryAction; status: DeliveryView["status"]; attempts: number; last_error: string | null;
  next_attempt_at: string; created_at: string; delivered_at: string | null; external_id: string | null; external_number: string | null;
};

function view(r: ViewRow): DeliveryView {
  const iso = (v: string | null) => (v ? new Date(v).toISOString() : null);
  return {
    id: r.id,
    incidentId: r.incident_id,
    connector: r.connector,
    action: r.action,
    status: r.status,
    attempts: r.attempts,
    lastError: r.last_error,
    nextAttemptAt: r.status === "pending" ? iso(r.next_attempt_at) : null,
    createdAt: iso(r.created_at)!,
    deliveredAt: iso(r.delivered_at),
    externalId: r.external_id,
    externalNumber: r.external_number,
  };
}

export async function listDeliveries(db: Queryable, filter: { incidentIds?: readonly string[]; status?: DeliveryView["status"]; limit: number; afterId?: string }): Promise<DeliveryView[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.incidentIds) {
    params.push(filter.incidentIds);
    where.push(`d.incident_id = ANY($${params.length}::uuid[])`);
  }
  if (filter.status) {
    params.push(filter.status);
    where.push(`d.status = $${params.length}`);
  }
  if (filter.afterId) {
    params.push(filter.afterId);
    where.push(`d.id > $${params.length}::bigint`);
  }
  params.push(filter.limit);
  const { rows } = await db.query<ViewRow>(
    `SELECT ${VIEW_COLUMNS} FROM deliveries d LEFT JOIN connector_links l ON l.incident_id = d.incident_id AND l.connector = d.connector
     ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY d.id LIMIT $${params.length}`,
    params,
  );
  return rows.map(view);
}

/** Delivery ids are bigint: anything else (or past 2^63-1) names no delivery. */
export const isDeliveryId = (id: unknown): id is string => typeof id === "string" && /^\d{1,19}$/.test(id) && BigInt(id) <= 9_223_372_036_854_775_807n;

export async function getDelivery(db: Queryable, id: string): Promise<DeliveryView | null> {
  if (!isDeliveryId(id)) return null;
  const { rows } = await db.query<ViewRow>(
    `SELECT ${VIEW_COLUMNS} FROM deliveries d LEFT JOIN connector_links l ON l.incident_id = d.incident_id AND l.connector = d.connector WHERE d.id = $1::bigint`,
    [id],
  );
  return rows[0] ? view(rows[0]) : null;
}

/**
 * Jobs still to do per connector and state, for every metrics scrape. Each state counted apart, so
 * each is read through its own partial index (`deliveries_due`, `deliveries_dead`): as `status <>
 * 'delivered'` it read every delivery the ledger keeps (20,008 rows for 8 jobs in
 * test/receiver/store/delivery-counts.test.ts), on the embedded store in the intake's thread.
 */
export async function countDeliveries(db: Queryable): Promise<Array<{ connector: string; status: string; count: number }>> {
  const { rows } = await db.query<{ connector: string; status: string; count: number }>(
    `SELECT connector, 'pending' AS status, count(*)::int AS count FROM deliveries WHERE status = 'pending' GROUP BY connector
     UNION ALL
     SELECT connector, 'dead' AS status, count(*)::int AS count FROM deliveries WHERE status = 'dead' GROUP BY connector`,
  );
  return rows;
}

/** Each incident's latest delivery per connector: what the incident's `deliveries` shows. */
export async function latestDeliveries(db: Queryable, incidentIds: readonly string[]): Promise<Map<string, DeliveryView[]>> {
  const result = new Map<string, DeliveryView[]>(incidentIds.map((id) => [id, []]));
  if (incidentIds.length === 0) return result;
  const { rows } = await db.query<ViewRow>(
    `SELECT DISTINCT ON (d.incident_id, d.connector) ${VIEW_COLUMNS}
     FROM deliveries d LEFT JOIN connector_links l ON l.incident_id = d.incident_id AND l.connector = d.connector
     WHERE d.incident_id = ANY($1::uuid[]) ORDER BY d.incident_id, d.connector, d.id DESC`,
    [incidentIds],
  );
  for (const row of rows) result.get(row.incident_id)?.push(view(row));
  return result;
}

/** What one connector's deliveries show of it: its queue, its dead letters, and its latest success and failure. */
export interface ConnectorOutcomes {
  connector: string;
  pending: number;
  dead: number;
  lastSuccessAt: string | null;
  /** The latest delivery error still recorded (a delivered job's error is cleared), with when it was recorded. */
  lastFailureAt: string | null;
  lastFailure: string | null;
}

/**
 * Per connector named, from the outbox itself, so every replica answers alike. The latest success
 * and failure come through partial indexes (migration 012), the counts through the pending and
 * dead ones: read on demand (the status), never on the intake.
 */
export async function connectorOutcomes(db: Queryable, connectors: readonly string[]): Promise<ConnectorOutcomes[]> {
  const { rows } = await db.query<{ connector: string; pending: number; dead: number; last_success_at: string | null; last_failure_at: string | null; last_error: string | null }>(
    `SELECT c.connector,
       (SELECT count(*)::int FROM deliveries d WHERE d.status = 'pending' AND d.connector = c.connector) AS pending,
       (SELECT count(*)::int FROM deliveries d WHERE d.status = 'dead' AND d.connector = c.connector) AS dead,
       (SELECT to_json(max(d.delivered_at))#>>'{}' FROM deliveries d WHERE d.status = 'delivered' AND d.connector = c.connector) AS last_success_at,
       to_json(f.updated_at)#>>'{}' AS last_failure_at, f.last_error
     FROM unnest($1::text[]) AS c (connector)
     LEFT JOIN LATERAL (SELECT d.last_error, d.updated_at FROM deliveries d WHERE d.last_error IS NOT NULL AND d.connector = c.connector ORDER BY d.updated_at DESC LIMIT 1) f ON true`,
    [connectors],
  );
  const iso = (v: string | null) => (v ? new Date(v).toISOString() : null);
  return rows.map((r) => ({ connector: r.connector, pending: r.pending, dead: r.dead, lastSuccessAt: iso(r.last_success_at), lastFailureAt: iso(r.last_failure_at), lastFailure: r.last_error }));
}
