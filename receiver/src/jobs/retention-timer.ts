/** Purges what RETENTION_DAYS no longer keeps, hourly while the receiver runs. */
import type { FastifyBaseLogger } from "fastify";
import type { Database } from "../store/database.ts";
import { purgeExpired } from "../store/retention.ts";

const INTERVAL_MS = 3_600_000;

export function startRetentionTimer(options: { db: Database; days: number; log: FastifyBaseLogger }): { stop(): void } {
  if (options.days === 0) return { stop() {} };
  const run = () =>
    purgeExpired(options.db, options.days).then(
      (purged) => {
        if (Object.values(purged).some((n) => n > 0)) options.log.info({ purged, retentionDays: options.days }, "retention: purged expired records");
      },
      (error: unknown) => options.log.warn({ err: error }, "retention: purge failed; retrying next hour"),
    );
  const first = setTimeout(run, 60_000);
  const timer = setInterval(run, INTERVAL_MS);
  first.unref();
  timer.unref();
  return {
    stop() {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
