/**
 * The timer behind holds and noise control (docs/noise.md), every NOISE_TIMER_MS while the receiver
 * runs: it releases incidents whose holds ended (maintenance windows, silences, transient holds),
 * opens group tickets whose groupWait is over, sends gathered member changes once per
 * groupInterval, and ends a group's flapping. Every step is a row's due time, so nothing is lost across a
 * restart, and several replicas share the work (store/noise.ts locks due rows with SKIP LOCKED).
 */
import type { FastifyBaseLogger } from "fastify";
import type { DeliveryTargets } from "../ledger/change-set.ts";
import { runNoiseTimers } from "../ledger/noise-timers.ts";
import { releaseHeldIncidents } from "../ledger/release-held-incidents.ts";
import type { Database } from "../store/database.ts";
import { every, type Job } from "./every.ts";

export function startNoiseTimer(options: { db: Database; targets: DeliveryTargets; log: FastifyBaseLogger; intervalMs: number }): Job {
  const { db, targets, log } = options;
  return every({ name: "noise timer", intervalMs: options.intervalMs, log }, async () => {
    const now = new Date();
    for (const { incident, sent } of await releaseHeldIncidents(db, targets, now)) {
      log.info({ alertId: incident.alertId, incidentId: incident.id, sent }, sent ? "hold ended: incident sent" : "hold ended: resolved meanwhile, nothing sent");
    }
    const { problems } = await runNoiseTimers(db, targets, now);
    for (const problem of problems) log.debug({ incidentId: problem.id, kind: problem.kind, members: problem.problem?.members, state: problem.state }, `${problem.kind}: timer step`);
  });
}
