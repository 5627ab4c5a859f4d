/**
 * Retention: what is older than the retention period goes, in small batches so no purge holds
 * locks the intake waits on. Kept whatever their age: open incidents, and dead-lettered
 * deliveries (an operator still has to act on them).
 */
import type { Database } from "./database.ts";

const BATCH = 1000;

export interface Purged {
  notifications: number;
  incidents: number;
  deliveries: number;
  configurationItems: number;
  itsmEvents: number;
}

export interface PurgeOptions {
  /** Runs ahead of each statement (a job waits there for a lull in the intake); false stops the purge. */
  before?: () => Promise<boolean>;
}

class Stopped extends Error {}

/**
 * A statement that finds its batch by index must walk the index in order and stop at the batch.
 * The planner picks that plan only when its statistics say many rows have expired; when they say
 * few (a table that grew since its last ANALYZE, the first run after RETENTION_DAYS was lowered,
 * a test's fresh table) it fetched every expired row and sorted them, for each batch: the whole
 * purge quadratic in what had expired (test/receiver/store/retention.test.ts). Set for each
 * statement's transaction only, as the outbox's claim does; these settings price the other plans
 * out, they forbid nothing.
 */
const WALK_INDEX = { enable_seqscan: "off", enable_bitmapscan: "off", enable_sort: "off" } as const;

async function repeat(db: Database, sql: string, days: number, options: PurgeOptions, settings?: Readonly<Record<string, string>>): Promise<number> {
  let total = 0;
  for (;;) {
    if (options.before && !(await options.before())) throw new Stopped();
    const { rows } = settings ? await db.transaction((tx) => tx.query<{ n: number }>(sql, [days, BATCH]), { settings }) : await db.query<{ n: number }>(sql, [days, BATCH]);
    const n = rows[0]?.n ?? 0;
    total += n;
    if (n < BATCH) return total;
  }
}

/** What was purged, or null when `before` stopped it part-way (what was deleted stays deleted). */
export async function purgeExpired(db: Database, days: number, options: PurgeOptions = {}): Promise<Purged | null> {
  try {
    return await purge(db, days, options);
  } catch (error) {
    if (error instanceof Stopped) return null;
    throw error;
  }
}

async function purge(db: Database, days: number, options: PurgeOptions): Promise<Purged> {
  // Ids follow arrival (one sequence; received_at is each transaction's start, so neighbours may
  // differ by a transaction's length): the oldest notifications are the first ids. Only those are
  // read, so a purge with nothing to do reads one batch, not the table (no index on received_at,
  // which every arrival would pay for). One arriving out of order by a moment goes at the next run.
  // The ids as an array, so that they are deleted by index: as a join, the planner read the whole
  // table to delete a batch (test/receiver/store/retention.test.ts).
  const notifications = await repeat(
    db,
    `WITH gone AS (DELETE FROM notifications WHERE id = ANY(ARRAY(
       SELECT id FROM (SELECT id, received_at FROM notifications ORDER BY id LIMIT $2) oldest
       WHERE received_at < now() - make_interval(days => $1))) RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    days,
    options,
  );
  // An incident resolved long ago goes with its timeline and CI links (its deliveries and
  // connector links follow by cascade). Found by the index of resolved incidents, so a run reads
  // only what it deletes (migration 014): not the open incidents, nor those resolved lately.
  const incidents = await repeat(
    db,
    `WITH doomed AS (
       SELECT id FROM incidents WHERE state = 'resolved' AND resolved_at < now() - make_interval(days => $1) ORDER BY resolved_at LIMIT $2 FOR UPDATE SKIP LOCKED),
     events AS (DELETE FROM incident_events WHERE incident_id IN (SELECT id FROM doomed)),
     links AS (DELETE FROM incident_configuration_items WHERE incident_id IN (SELECT id FROM doomed)),
     gone AS (DELETE FROM incidents WHERE id = ANY(ARRAY(SELECT id FROM doomed)) RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    days,
    options,
    WALK_INDEX,
  );
  // Likewise by the index of delivered ones: dead letters and pending deliveries are never read.
  const deliveries = await repeat(
    db,
    `WITH gone AS (DELETE FROM deliveries WHERE id = ANY(ARRAY(
       SELECT id FROM deliveries WHERE status = 'delivered' AND delivered_at < now() - make_interval(days => $1) ORDER BY delivered_at LIMIT $2)) RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    days,
    options,
    WALK_INDEX,
  );
  const configurationItems = await repeat(
    db,
    `WITH gone AS (DELETE FROM configuration_items WHERE id IN (
       SELECT ci.id FROM configuration_items ci WHERE ci.last_seen_at < now() - make_interval(days => $1)
         AND NOT EXISTS (SELECT 1 FROM incident_configuration_items l WHERE l.ci_id = ci.id) ORDER BY ci.id LIMIT $2) RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    days,
    options,
  );
  // ITSM events are kept as long as notifications: a replay older than that finds its ticket's incident gone anyway.
  // Deleted by their row addresses in the same statement: as `(connector, event_id) IN (…)` the
  // planner hashed the whole table to delete each batch (23,500 rows read for 1,000 deleted among
  // 22,500), and the two-column key has no array form an index takes. They are only ever inserted,
  // so an address read in the statement is the row's.
  const itsmEvents = await repeat(
    db,
    `WITH gone AS (DELETE FROM itsm_events WHERE ctid = ANY(ARRAY(
       SELECT ctid FROM itsm_events WHERE received_at < now() - make_interval(days => $1) ORDER BY received_at LIMIT $2)) RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    days,
    options,
  );
  return { notifications, incidents, deliveries, configurationItems, itsmEvents };
}
