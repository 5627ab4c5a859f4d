/**
 * The embedded store's upkeep (store/maintenance.ts says why PGlite needs it): its churning tables
 * vacuumed every 10 minutes while the receiver runs, and analyzed on the first run and every
 * hour. Each run's longest pause of the store's one thread is logged.
 *
 * Each statement takes the store's one thread from the intake: after a storm, VACUUM of the
 * incidents visits every page written since the last run, and every alert arriving meanwhile
 * waits. With `waitForQuiet` each statement waits for a lull first (jobs/lulls.ts).
 */
import type { FastifyBaseLogger } from "fastify";
import type { Database } from "../store/database.ts";
import { upkeepChurningTables } from "../store/maintenance.ts";
import { every, type Job } from "./every.ts";
import { intakeLulls, type WaitForQuiet } from "./lulls.ts";

const UPKEEP_INTERVAL_MS = 600_000;
/** Runs of the upkeep per ANALYZE: hourly at the default interval. */
const ANALYZE_EVERY = 6;

export interface EmbeddedUpkeepOptions {
  db: Database;
  log: FastifyBaseLogger;
  intervalMs?: number;
  firstAfterMs?: number;
  /** Resolves once the intake has had a lull, or after `maxWaitMs` whatever it is doing (GroupCommit.quiet). */
  waitForQuiet?: WaitForQuiet;
  /** Longest a run waits for lulls in all. Default: one interval. */
  maxWaitMs?: number;
}

export function startEmbeddedUpkeep(options: EmbeddedUpkeepOptions): Job {
  const intervalMs = options.intervalMs ?? UPKEEP_INTERVAL_MS;
  const maxWaitMs = options.maxWaitMs ?? intervalMs;
  const lulls = intakeLulls(options.waitForQuiet);
  let runs = 0;
  const job = every({ name: "embedded store upkeep", intervalMs, firstAfterMs: options.firstAfterMs ?? 60_000, log: options.log }, async () => {
    const analyze = runs % ANALYZE_EVERY === 0;
    runs += 1;
    const run = lulls.forRun(maxWaitMs);
    const done = await upkeepChurningTables(options.db, { analyze, before: run.before });
    if (!done.complete) return;
    const ms = (s: number) => Math.round(s * 1000);
    options.log.info(
      { analyze, ms: ms(done.seconds), longestPauseMs: ms(done.longestPauseSeconds), waitedMs: run.waitedMs() },
      `embedded store: ${analyze ? "vacuumed and analyzed" : "vacuumed"} the tables that change`,
    );
  });
  return {
    async stop() {
      lulls.stop();
      await job.stop();
    },
  };
}
