/**
 * The embedded store's upkeep (store/maintenance.ts says why PGlite needs it): its churning tables
 * vacuumed every 10 minutes while the receiver runs, and analyzed on the first run and every
 * hour. Each run's longest pause of the store's one thread is logged.
 */
import type { FastifyBaseLogger } from "fastify";
import type { Database } from "../store/database.ts";
import { upkeepChurningTables } from "../store/maintenance.ts";
import { every, type Job } from "./every.ts";

const UPKEEP_INTERVAL_MS = 600_000;
/** Runs of the upkeep per ANALYZE: hourly at the default interval. */
const ANALYZE_EVERY = 6;

export function startEmbeddedUpkeep(options: { db: Database; log: FastifyBaseLogger; intervalMs?: number; firstAfterMs?: number }): Job {
  const intervalMs = options.intervalMs ?? UPKEEP_INTERVAL_MS;
  let runs = 0;
  return every({ name: "embedded store upkeep", intervalMs, firstAfterMs: options.firstAfterMs ?? 60_000, log: options.log }, async () => {
    const analyze = runs % ANALYZE_EVERY === 0;
    runs += 1;
    const done = await upkeepChurningTables(options.db, { analyze });
    const ms = (s: number) => Math.round(s * 1000);
    options.log.info({ analyze, ms: ms(done.seconds), longestPauseMs: ms(done.longestPauseSeconds) }, `embedded store: ${analyze ? "vacuumed and analyzed" : "vacuumed"} the tables that change`);
  });
}
