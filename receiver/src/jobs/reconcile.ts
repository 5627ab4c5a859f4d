/**
 * Reconciliation (docs/incidents.md#reconciliation): every RECONCILE_INTERVAL, incidents open for
 * longer than that are checked against Azure's view of their alerts, so none stays open because
 * Azure's "Resolved" was lost (an endpoint paused for 15 minutes after errors, a deploy, a dead
 * letter). One replica runs it at a time (a lease). Alerts are read per subscription, GRAPH_BATCH
 * at a time, through Resource Graph; its quota headers are followed, a 429 ends the run (the rest
 * waits for the next one), and a 403 on one subscription is reported and skips only that one.
 */
import type { FastifyBaseLogger } from "fastify";
import { ArmError, type ArmClient } from "../azure/arm.ts";
import { alertSubscription, GRAPH_BATCH, readAlertStates, type AlertView } from "../azure/alerts.ts";
import type { DeliveryTargets } from "../ledger/change-set.ts";
import { reconcileIncidents } from "../ledger/reconcile.ts";
import { countIncidentChanges, type Metrics } from "../metrics.ts";
import type { Database } from "../store/database.ts";
import { staleOpenIncidents } from "../store/itsm-sync.ts";
import { acquireLease } from "../store/leases.ts";
import { every, type Job } from "./every.ts";

export const RECONCILE_LEASE = "reconcile";
/** Incidents looked at per run: beyond it, the next run goes on (a backlog never makes one run endless). */
const MAX_PER_RUN = 5000;
/** Waiting out Resource Graph's quota within a run is worth it up to this; longer, the run ends. */
const MAX_QUOTA_WAIT_MS = 10_000;

export interface ReconcileReport {
  checked: number;
  resolved: number;
  /** Subscriptions the identity may not read alerts of (403). */
  forbidden: string[];
  /** A 429 ended the run early. */
  throttled: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function reconcileOnce(options: { db: Database; arm: ArmClient; targets: DeliveryTargets; metrics: Metrics; log: FastifyBaseLogger; intervalMs: number; now?: () => Date }): Promise<ReconcileReport> {
  const now = options.now ?? (() => new Date());
  const report: ReconcileReport = { checked: 0, resolved: 0, forbidden: [], throttled: false };
  const cutoff = new Date(now().getTime() - options.intervalMs).toISOString();
  let after: { firedAt: string; id: string } | null = null;
  while (report.checked < MAX_PER_RUN && !report.throttled) {
    const page = await staleOpenIncidents(options.db, cutoff, 500, after);
    if (page.length === 0) break;
    after = { firedAt: page[page.length - 1]!.firedAt, id: page[page.length - 1]!.id };
    // One subscription per query: a 403 on one does not hide the others.
    const bySubscription = new Map<string, string[]>();
    for (const incident of page) {
      const subscription = alertSubscription(incident.alertId);
      if (!subscription || report.forbidden.includes(subscription)) continue;
      bySubscription.set(subscription, [...(bySubscription.get(subscription) ?? []), incident.alertId]);
    }
    for (const [subscription, alertIds] of bySubscription) {
      for (let start = 0; start < alertIds.length && !report.throttled; start += GRAPH_BATCH) {
        const batch = alertIds.slice(start, start + GRAPH_BATCH);
        let views: AlertView[];
        try {
          const read = await readAlertStates(options.arm, batch);
          views = read.views;
          if (read.quota.remaining === 0 && read.quota.resetsAfterMs !== null) {
            if (read.quota.resetsAfterMs > MAX_QUOTA_WAIT_MS) report.throttled = true;
            else await sleep(read.quota.resetsAfterMs);
          }
        } catch (error) {
          if (error instanceof ArmError && error.status === 429) {
            report.throttled = true;
            options.log.warn({ retryAfterMs: error.retryAfterMs }, `reconciliation: Azure Resource Graph throttled us (429); the rest waits for the next run`);
            break;
          }
          if (error instanceof ArmError && (error.status === 403 || error.status === 401)) {
            report.forbidden.push(subscription);
            options.log.error(
              { subscription, armCode: error.armCode },
              `reconciliation: the receiver's identity may not read alerts of subscription ${subscription} (${error.message}); assign it the role with Microsoft.AlertsManagement/alerts/read there (docs/deploy/pulumi.md#the-closed-loop)`,
            );
            break;
          }
          throw error;
        }
        report.checked += batch.length;
        const ours = new Map(batch.map((alertId) => [alertId.toLowerCase(), alertId]));
        const matched = new Map<string, AlertView>();
        for (const view of views) {
          const alertId = ours.get(view.alertId.toLowerCase());
          if (alertId) matched.set(alertId, view);
        }
        const changed = await reconcileIncidents(options.db, matched, options.targets, now());
        for (const { family, events } of changed) countIncidentChanges(options.metrics, events, family);
        report.resolved += changed.length;
      }
      if (report.throttled) break;
    }
  }
  return report;
}

export function startReconciliation(options: { db: Database; arm: ArmClient; targets: DeliveryTargets; metrics: Metrics; log: FastifyBaseLogger; intervalMs: number | null; holder: string }): Job | null {
  const { intervalMs } = options;
  if (intervalMs === null) return null;
  const log = options.log.child({ component: "reconciliation" });
  return every({ name: "reconciliation", intervalMs, log }, async () => {
    if (!(await acquireLease(options.db, RECONCILE_LEASE, options.holder, intervalMs * 2))) return;
    try {
      const report = await reconcileOnce({ ...options, intervalMs, log });
      const outcome = report.throttled ? "throttled" : report.forbidden.length > 0 ? "forbidden" : "ok";
      options.metrics.syncRuns.inc({ job: "reconciliation", outcome });
      if (report.checked > 0) log.info(report, `reconciliation: checked ${report.checked} open incidents against Azure, resolved ${report.resolved}`);
    } catch (error) {
      options.metrics.syncRuns.inc({ job: "reconciliation", outcome: "failed" });
      throw error;
    }
  });
}
