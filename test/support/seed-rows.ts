/** Rows written straight into a store's tables, for tests of what reads them (ages and states the intake would take days to make). */
import type { Queryable } from "../../receiver/src/store/database.ts";

/** One incident of `alertId`, resolved `daysAgo` days ago (an open one fired then), with one timeline event. */
export async function seedIncident(db: Queryable, alertId: string, state: "open" | "resolved", daysAgo: number): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO incidents (alert_id, alert_key, state, title, monitoring_service, family, fired_at, resolved_at, last_at, last_rank, last_key)
     VALUES ($1, $1, $2, 't', 'Platform', 'metric', now() - make_interval(days => $3 + 1), CASE WHEN $2 = 'resolved' THEN now() - make_interval(days => $3) END, 'x', 0, 'k')
     RETURNING id::text AS id`,
    [alertId, state, daysAgo],
  );
  await db.query("INSERT INTO incident_events (incident_id, type, at, actor, detail) VALUES ($1, 'opened', now(), 'test', '{}')", [rows[0]!.id]);
  return rows[0]!.id;
}

/** `count` deliveries of one incident to `connector` in `status`, last changed (delivered, for those delivered) `daysAgo` days ago. */
export async function seedDeliveries(db: Queryable, incidentId: string, count: number, status: "pending" | "delivered" | "dead", daysAgo: number, connector = "servicenow"): Promise<void> {
  await db.query(
    `INSERT INTO deliveries (incident_id, connector, action, payload, deadline_at, status, updated_at, delivered_at)
     SELECT $1, $5, 'open', '{}'::jsonb, now() + interval '1 day', $3, now() - make_interval(days => $4), CASE WHEN $3 = 'delivered' THEN now() - make_interval(days => $4) END
     FROM generate_series(1, $2)`,
    [incidentId, count, status, daysAgo, connector],
  );
}
