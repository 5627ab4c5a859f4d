/**
 * The noise timer's work (docs/noise.md): problems whose groupWait is over open their ticket,
 * gathered member changes go out once per groupInterval, and a flapping group that has been quiet
 * long enough gets its state told. Due rows are locked with SKIP LOCKED, so several replicas share
 * the work and each step happens once; a restart finds the due times in the rows.
 */
import { bindingsOf } from "../store/configuration-items.ts";
import type { Database } from "../store/database.ts";
import type { StoredIncident } from "../store/incidents.ts";
import { lockDueProblems } from "../store/noise.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";

const BATCH = 100;

export interface NoiseTimerOutcome {
  /** Problems whose ticket opened, got an update, or stopped flapping. */
  problems: StoredIncident[];
}

export async function runNoiseTimers(db: Database, targets: DeliveryTargets, now: Date = new Date()): Promise<NoiseTimerOutcome> {
  const outcome: NoiseTimerOutcome = { problems: [] };
  for (;;) {
    const batch = await db.transaction(async (tx) => {
      const due = await lockDueProblems(tx, now.toISOString(), BATCH);
      if (due.length === 0) return { done: [], full: false };
      const bindings = await bindingsOf(tx, due.map((i) => i.id));
      const changes = new ChangeSet(targets, now, { silences: [], lockedGroupKeys: new Set(), problems: new Map(due.map((p) => [p.id, p])), counters: new Map(), problemBindings: bindings });
      const done = due.map((problem) => changes.tick(problem));
      writeChanges(tx, changes);
      return { done, full: due.length === BATCH };
    });
    outcome.problems.push(...batch.done);
    if (!batch.full) break;
  }
  return outcome;
}
