/**
 * The timer behind holds and noise control (docs/noise.md), every NOISE_TIMER_MS while the receiver
 * runs: it releases incidents whose holds ended (maintenance windows, silences, transient holds),
 * opens group tickets whose groupWait is over, sends gathered member changes once per
 * groupInterval, and ends a group's flapping. Every step is a row's due time, so nothing is lost across a
 * restart, and several replicas share the work (store/noise.ts locks due rows with SKIP LOCKED).
 *
 * `kick()` (after an intake commit that left group and storm decisions pending) releases at once,
 * without waiting for the timer: one release in flight at a time, and what arrives meanwhile goes
 * in the next, so a storm's decisions are made in batches as large as the intake's backlog.
 */
import type { FastifyBaseLogger } from "fastify";
import type { DeliveryTargets } from "../ledger/change-set.ts";
import { runNoiseTimers } from "../ledger/noise-timers.ts";
import { releaseHeldIncidents } from "../ledger/release-held-incidents.ts";
import type { Database } from "../store/database.ts";
import { every, type Job } from "./every.ts";

export interface NoiseTimer extends Job {
  kick(): void;
}

export function startNoiseTimer(options: { db: Database; targets: DeliveryTargets; log: FastifyBaseLogger; intervalMs: number }): NoiseTimer {
  const { db, targets, log } = options;
  const release = async (now: Date) => {
    for (const { incident, sent, pending } of await releaseHeldIncidents(db, targets, now)) {
      if (pending) continue;
      log.info({ alertId: incident.alertId, incidentId: incident.id, sent }, sent ? "hold ended: incident sent" : "hold ended: resolved meanwhile, nothing sent");
    }
  };
  const timer = every({ name: "noise timer", intervalMs: options.intervalMs, log }, async () => {
    const now = new Date();
    await release(now);
    const { problems } = await runNoiseTimers(db, targets, now);
    for (const problem of problems) log.debug({ incidentId: problem.id, kind: problem.kind, members: problem.problem?.members, state: problem.state }, `${problem.kind}: timer step`);
  });
  let stopped = false;
  let inFlight: Promise<void> | null = null;
  let again = false;
  const drain = async () => {
    do {
      again = false;
      // A failure leaves the rows as they were: the timer's next run, or the next kick, tries again.
      await release(new Date()).catch((error: unknown) => log.warn({ err: error }, "noise decisions after the intake failed; the noise timer tries again"));
    } while (again && !stopped);
  };
  return {
    kick() {
      if (stopped) return;
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = drain().finally(() => {
        inFlight = null;
      });
    },
    async stop() {
      stopped = true;
      await Promise.all([timer.stop(), inFlight]);
    },
  };
}
