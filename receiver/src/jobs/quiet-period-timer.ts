/** Runs the quiet-period resolution every minute while the receiver runs. */
import type { FastifyBaseLogger } from "fastify";
import type { SignalFamily } from "../alerts/normalise.ts";
import type { DeliveryTargets } from "../ledger/change-set.ts";
import { resolveQuietIncidents } from "../ledger/resolve-quiet-incidents.ts";
import { countIncidentChanges, type Metrics } from "../metrics.ts";
import type { Database } from "../store/database.ts";

const SWEEP_INTERVAL_MS = 60_000;

export function startQuietPeriodTimer(options: {
  db: Database;
  quietPeriods: Partial<Record<SignalFamily, number>>;
  targets: DeliveryTargets;
  metrics: Metrics;
  log: FastifyBaseLogger;
}): { stop(): void } {
  if (Object.keys(options.quietPeriods).length === 0) return { stop() {} };
  const timer = setInterval(() => {
    resolveQuietIncidents(options.db, options.quietPeriods, options.targets).then(
      (resolved) => {
        for (const { incident, events } of resolved) {
          countIncidentChanges(options.metrics, events, incident.family);
          options.log.info({ alertId: incident.alertId, incidentId: incident.id }, "incident resolved after its quiet period");
        }
      },
      (error: unknown) => options.log.warn({ err: error }, "quiet-period sweep failed; retrying next interval"),
    );
  }, SWEEP_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
