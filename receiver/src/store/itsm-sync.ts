/**
 * What the closed loop keeps (docs/incidents.md#the-closed-loop): which incident a connector's
 * ticket belongs to, every ITSM event applied (once: a repeated eventId changes nothing), where
 * each connector's poll has got to, and which open incidents reconciliation looks at.
 */
import type { Database, Queryable } from "./database.ts";
import { isoTime } from "./incidents.ts";

export interface LinkedTicket {
  incidentId: string;
  externalId: string;
  externalNumber: string | null;
}

/** The incident whose ticket in `connector` is `ticket` (its id or its number); null for a ticket the connector did not create. */
export async function findLinkedTicket(db: Queryable, connector: string, ticket: string): Promise<LinkedTicket | null> {
  const { rows } = await db.query<{ incident_id: string; external_id: string; external_number: string | null }>(
    `SELECT incident_id::text AS incident_id, external_id, external_number FROM connector_links
     WHERE connector = $1 AND (external_id = $2 OR external_number = $2) ORDER BY updated_at DESC LIMIT 1`,
    [connector, ticket],
  );
  const row = rows[0];
  return row ? { incidentId: row.incident_id, externalId: row.external_id, externalNumber: row.external_number } : null;
}

/** Records an event as applied; false when this connector's eventId was applied before (nothing else may happen then). */
export async function recordItsmEvent(tx: Queryable, event: { connector: string; eventId: string; incidentId: string | null; state: string; outcome: string }): Promise<boolean> {
  const { rows } = await tx.query(
    `INSERT INTO itsm_events (connector, event_id, incident_id, state, outcome) VALUES ($1, $2, $3::uuid, $4, $5)
     ON CONFLICT (connector, event_id) DO NOTHING RETURNING 1`,
    [event.connector, event.eventId, event.incidentId, event.state, event.outcome],
  );
  return rows.length > 0;
}

/** What an earlier delivery of the same eventId did. */
export async function itsmEventOutcome(db: Queryable, connector: string, eventId: string): Promise<{ outcome: string; incidentId: string | null } | null> {
  const { rows } = await db.query<{ outcome: string; incident_id: string | null }>("SELECT outcome, incident_id::text AS incident_id FROM itsm_events WHERE connector = $1 AND event_id = $2", [connector, eventId]);
  return rows[0] ? { outcome: rows[0].outcome, incidentId: rows[0].incident_id } : null;
}

export interface StoredPollCursor {
  changedAt: string;
  seen: number;
}

export async function pollCursor(db: Queryable, connector: string): Promise<StoredPollCursor | null> {
  const { rows } = await db.query<{ changed_at: string; seen_at_that_time: number }>("SELECT changed_at, seen_at_that_time FROM itsm_poll_cursors WHERE connector = $1", [connector]);
  return rows[0] ? { changedAt: rows[0].changed_at, seen: rows[0].seen_at_that_time } : null;
}

export async function savePollCursor(db: Queryable, connector: string, cursor: StoredPollCursor): Promise<void> {
  await db.query(
    `INSERT INTO itsm_poll_cursors (connector, changed_at, seen_at_that_time) VALUES ($1, $2, $3)
     ON CONFLICT (connector) DO UPDATE SET changed_at = EXCLUDED.changed_at, seen_at_that_time = EXCLUDED.seen_at_that_time, updated_at = now()`,
    [connector, cursor.changedAt, cursor.seen],
  );
}

/** When the oldest open incident with a ticket in `connector` fired: where a first poll starts. */
export async function oldestOpenTicketTime(db: Queryable, connector: string): Promise<string | null> {
  const { rows } = await db.query<{ fired_at: string | null }>(
    `SELECT to_json(min(i.fired_at))#>>'{}' AS fired_at FROM incidents i JOIN connector_links l ON l.incident_id = i.id
     WHERE l.connector = $1 AND i.state = 'open'`,
    [connector],
  );
  return isoTime(rows[0]?.fired_at ?? null);
}

/** Open incidents that fired at or before `cutoff`, a page at a time in (fired_at, id) order. */
export async function staleOpenIncidents(db: Database, cutoff: string, limit: number, after: { firedAt: string; id: string } | null): Promise<Array<{ id: string; alertId: string; firedAt: string }>> {
  const { rows } = await db.query<{ id: string; alert_id: string; fired_at: string }>(
    `SELECT id::text AS id, alert_id, to_json(fired_at)#>>'{}' AS fired_at FROM incidents
     WHERE state = 'open' AND fired_at <= $1::timestamptz AND ($2::timestamptz IS NULL OR (fired_at, id) > ($2::timestamptz, $3::uuid))
     ORDER BY fired_at, id LIMIT $4`,
    [cutoff, after?.firedAt ?? null, after?.id ?? null, limit],
  );
  return rows.map((r) => ({ id: r.id, alertId: r.alert_id, firedAt: isoTime(r.fired_at) }));
}
