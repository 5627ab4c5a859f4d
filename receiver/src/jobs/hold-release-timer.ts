/** Releases incidents whose maintenance hold has ended, every 5 s while the receiver runs. */
import type { FastifyBaseLogger } from "fastify";
import type { DeliveryTargets } from "../ledger/change-set.ts";
import { releaseHeldIncidents } from "../ledger/release-held-incidents.ts";
import type { Database } from "../store/database.ts";

export function startHoldReleaseTimer(options: { db: Database; targets: DeliveryTargets; log: FastifyBaseLogger; intervalMs?: number }): { stop(): void } {
  const run = () =>
    releaseHeldIncidents(options.db, options.targets).then(
      (released) => {
        for (const { incident, sent } of released) {
          options.log.info({ alertId: incident.alertId, incidentId: incident.id, sent }, sent ? "maintenance hold ended: incident sent" : "maintenance hold ended: resolved meanwhile, nothing sent");
        }
      },
      (error: unknown) => options.log.warn({ err: error }, "releasing held incidents failed; retrying shortly"),
    );
  // A hold ends at most this late: short, since the tool has not seen the incident yet.
  const timer = setInterval(run, options.intervalMs ?? 5_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
