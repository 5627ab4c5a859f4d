/**
 * The outbox tables. Jobs are claimed with a lease under FOR UPDATE SKIP LOCKED, so several
 * workers (and replicas) never hold one job at once, and a job waits while an earlier job of
 * the same incident and connector is undelivered: a resolve never overtakes its create.
 */
import { actionsFor, type DeliveryAction, type DeliveryJob, type ExternalLink, type IncidentSnapshot } from "../connectors/delivery.ts";
import type { IncidentEvent } from "../incidents/lifecycle.ts";
import type { Queryable } from "./database.ts";

const LEASE = "5 minutes";

/** Where incident changes go: the configured connectors, retried until maxAgeMs. */
export interface DeliveryTargets {
  connectors: readonly string[];
  maxAgeMs: number;
}

/** Queues the ITSM actions the events call for, for every connector, in the caller's transaction. */
export async function enqueueDeliveries(
  tx: Queryable,
  targets: DeliveryTargets,
  events: readonly IncidentEvent[],
  snapshot: IncidentSnapshot,
): Promise<void> {
  for (const action of actionsFor(events)) {
    for (const connector of targets.connectors) {
      await tx.query(
        `INSERT INTO deliveries (incident_id, connector, action, payload, deadline_at)
         VALUES ($1::uuid, $2, $3, $4, now() + make_interval(secs => $5))`,
        [snapshot.incidentId, connector, action, JSON.stringify(snapshot), targets.maxAgeMs / 1000],
      );
    }
  }
}

interface JobRow {
  id: string;
  incident_id: string;
  connector: string;
  action: DeliveryAction;
  attempts: number;
  payload: unknown;
}

export async function claimDelivery(tx: Queryable, connectors: readonly string[]): Promise<DeliveryJob | null> {
  const { rows } = await tx.query<JobRow>(
    `WITH next AS (
       SELECT d.id FROM deliveries d
       WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until < now())
         AND d.connector = ANY($1::text[])
         AND NOT EXISTS (SELECT 1 FROM deliveries e
                         WHERE e.incident_id = d.incident_id AND e.connector = d.connector AND e.id < d.id AND e.status <> 'delivered')
       ORDER BY d.next_attempt_at, d.id
       LIMIT 1
       FOR UPDATE SKIP LOCKED)
     UPDATE deliveries d SET leased_until = now() + interval '${LEASE}', attempts = d.attempts + 1, updated_at = now()
     FROM next WHERE d.id = next.id
     RETURNING d.id::text AS id, d.incident_id::text AS incident_id, d.connector, d.action, d.attempts, d.payload`,
    [connectors],
  );
  const row = rows[0];
  if (!row) return null;
  const link = await tx.query<{ external_id: string; external_number: string | null }>(
    "SELECT external_id, external_number FROM connector_links WHERE incident_id = $1::uuid AND connector = $2",
    [row.incident_id, row.connector],
  );
  const found = link.rows[0];
  return {
    id: row.id,
    incidentId: row.incident_id,
    connector: row.connector,
    action: row.action,
    attempts: row.attempts,
    snapshot: (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as IncidentSnapshot,
    link: found ? { externalId: found.external_id, externalNumber: found.external_number } : null,
  };
}

export async function completeDelivery(tx: Queryable, job: DeliveryJob, link: ExternalLink | null): Promise<void> {
  await tx.query(
    "UPDATE deliveries SET status = 'delivered', delivered_at = now(), leased_until = NULL, last_error = NULL, updated_at = now() WHERE id = $1",
    [job.id],
  );
  if (link) {
    await tx.query(
      `INSERT INTO connector_links (incident_id, connector, external_id, external_number) VALUES ($1::uuid, $2, $3, $4)
       ON CONFLICT (incident_id, connector) DO UPDATE SET external_id = EXCLUDED.external_id, external_number = EXCLUDED.external_number, updated_at = now()`,
      [job.incidentId, job.connector, link.externalId, link.externalNumber],
    );
  }
}

/** Records a failed attempt: retried at `retryAt`, or dead-lettered when that is past the deadline (or `dead`). */
export async function failDelivery(tx: Queryable, job: DeliveryJob, error: string, retryAt: Date | null): Promise<"retry" | "dead"> {
  const { rows } = await tx.query<{ status: "pending" | "dead" }>(
    `UPDATE deliveries SET
       status = CASE WHEN $3::timestamptz IS NULL OR $3::timestamptz > deadline_at THEN 'dead' ELSE 'pending' END,
       next_attempt_at = COALESCE($3::timestamptz, next_attempt_at),
       leased_until = NULL, last_error = $2, updated_at = now()
     WHERE id = $1 RETURNING status`,
    [job.id, error.slice(0, 2000), retryAt?.toISOString() ?? null],
  );
  return rows[0]?.status === "dead" ? "dead" : "retry";
}

/** Replays a dead-lettered delivery with a fresh deadline; false when it is not dead. */
export async function retryDelivery(tx: Queryable, id: string, maxAgeMs: number): Promise<boolean> {
  const { rows } = await tx.query(
    `UPDATE deliveries SET status = 'pending', next_attempt_at = now(), leased_until = NULL,
       deadline_at = now() + make_interval(secs => $2), updated_at = now()
     WHERE id = $1 AND status = 'dead' RETURNING id`,
    [id, maxAgeMs / 1000],
  );
  return rows.length > 0;
}

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

export async function getDelivery(db: Queryable, id: string): Promise<DeliveryView | null> {
  if (!/^\d+$/.test(id)) return null;
  const { rows } = await db.query<ViewRow>(
    `SELECT ${VIEW_COLUMNS} FROM deliveries d LEFT JOIN connector_links l ON l.incident_id = d.incident_id AND l.connector = d.connector WHERE d.id = $1::bigint`,
    [id],
  );
  return rows[0] ? view(rows[0]) : null;
}

export async function countDeliveries(db: Queryable): Promise<Array<{ connector: string; status: string; count: number }>> {
  const { rows } = await db.query<{ connector: string; status: string; count: number }>(
    "SELECT connector, status, count(*)::int AS count FROM deliveries WHERE status <> 'delivered' GROUP BY connector, status",
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
