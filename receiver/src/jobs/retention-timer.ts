/**
 * Purges what RETENTION_DAYS no longer keeps, hourly while the receiver runs (the first a minute
 * after start). On the embedded store each statement waits for a lull in the intake first
 * (jobs/lulls.ts): a purge reads and deletes up to a thousand rows a statement in the receiver's
 * own thread.
 */
import type { FastifyBaseLogger } from "fastify";
import type { Database } from "../store/database.ts";
import { purgeExpired } from "../store/retention.ts";
import { every, type Job } from "./every.ts";
import { intakeLulls, type WaitForQuiet } from "./lulls.ts";

const INTERVAL_MS = 3_600_000;

export interface RetentionTimerOptions {
  db: Database;
  days: number;
  log: FastifyBaseLogger;
  intervalMs?: number;
  firstAfterMs?: number;
  waitForQuiet?: WaitForQuiet;
}

export function startRetentionTimer(options: RetentionTimerOptions): Job {
  if (options.days === 0) return { stop: async () => undefined };
  const intervalMs = options.intervalMs ?? INTERVAL_MS;
  const lulls = intakeLulls(options.waitForQuiet);
  const job = every({ name: "retention", intervalMs, firstAfterMs: options.firstAfterMs ?? 60_000, log: options.log }, async () => {
    const purged = await purgeExpired(options.db, options.days, { before: lulls.forRun(intervalMs).before });
    if (purged && Object.values(purged).some((n) => n > 0)) options.log.info({ purged, retentionDays: options.days }, "retention: purged expired records");
  });
  return {
    async stop() {
      lulls.stop();
      await job.stop();
    },
  };
}
