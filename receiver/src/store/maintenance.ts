/**
 * Vacuuming and analyzing the embedded store. PGlite runs PostgreSQL as one process in single-user
 * mode: there is no autovacuum launcher and no statistics collector, so without this nothing ever
 * reclaims the dead row versions every update leaves behind (an outbox job is updated two or three
 * times, a problem incident with every batch, a lease every few seconds), and the planner never
 * gets statistics (docs/performance.md#the-embedded-stores-upkeep). A PostgreSQL server does this
 * itself (autovacuum) and does not need it.
 */
import type { Database } from "./database.ts";

/**
 * The tables whose rows are updated or deleted. The append-only ones (notifications, the
 * timeline) leave nothing to reclaim, and their statistics would cost a pause for no plan of the
 * intake's.
 */
export const CHURNING_TABLES = [
  "incidents",
  "deliveries",
  "configuration_items",
  "connector_links",
  "leases",
  "noise_storms",
  "heartbeats",
  "incident_evidence",
  "silences",
] as const;

export interface Upkeep {
  /** The statements' own time, waits left out. */
  seconds: number;
  /** The longest single statement: how long the store's one thread was taken from the intake at once. */
  longestPauseSeconds: number;
  /** False when `before` said to stop before every step had run. */
  complete: boolean;
}

/**
 * VACUUM of each churning table, and with `analyze` an ANALYZE of each. One statement per table
 * and step, so the intake's transactions run in between. VACUUM skips pages nothing changed (about
 * a millisecond per table at 200,000 incidents) but visits every page written since the last one,
 * which after a storm takes seconds; ANALYZE reads a sample of 30,000 rows whatever the table's
 * size (0.3–0.4 s for each large table), which is why it runs less often (jobs/embedded-upkeep.ts).
 * `before` runs ahead of each statement (the job waits there for a lull in the intake) and stops
 * the upkeep by answering false.
 */
export async function upkeepChurningTables(db: Database, options: { analyze: boolean; before?: () => Promise<boolean> }): Promise<Upkeep> {
  let seconds = 0;
  let longest = 0;
  for (const table of CHURNING_TABLES) {
    for (const step of options.analyze ? ["VACUUM", "ANALYZE"] : ["VACUUM"]) {
      if (options.before && !(await options.before())) return { seconds, longestPauseSeconds: longest, complete: false };
      const at = performance.now();
      // Neither can run inside a transaction block: plain statements of their own.
      await db.exec(`${step} ${table}`);
      const took = (performance.now() - at) / 1000;
      seconds += took;
      longest = Math.max(longest, took);
    }
  }
  return { seconds, longestPauseSeconds: longest, complete: true };
}
