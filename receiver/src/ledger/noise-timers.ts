/**
 * The noise timer's work (docs/noise.md): problems whose groupWait is over open their ticket, and
 * gathered member changes go out once per groupInterval; alerts that have been quiet long enough
 * stop flapping and their ticket gets their state. Due rows are locked with SKIP LOCKED, so several
 * replicas share the work and each step happens once; a restart finds the due times in the rows.
 */
import { bindingsOf } from "../store/configuration-items.ts";
import type { Database } from "../store/database.ts";
import type { StoredIncident } from "../store/incidents.ts";
import { lockDueIncidents } from "../store/noise.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";
import { loadNoiseContext } from "./noise-context.ts";

const BATCH = 100;

export interface NoiseTimerOutcome {
  /** Problems whose ticket opened, got an update or was found resolved. */
  problems: StoredIncident[];
  /** Alerts that stopped flapping. */
  quieted: StoredIncident[];
}

export async function runNoiseTimers(db: Database, targets: DeliveryTargets, now: Date = new Date()): Promise<NoiseTimerOutcome> {
  const outcome: NoiseTimerOutcome = { problems: [], quieted: [] };
  // Alerts first: one that stops flapping may change its problem, which then goes out in the same run.
  for (;;) {
    const batch = await db.transaction(async (tx) => {
      const due = await lockDueIncidents(tx, "alert", now.toISOString(), BATCH);
      if (due.length === 0) return { done: [], full: false };
      const bindings = await bindingsOf(tx, due.map((i) => i.id));
      const context = await loadNoiseContext(tx, { alertIds: due.map((i) => i.alertId), incidents: due, routings: [], opensIncidents: false, problemBindings: true }, now);
      const changes = new ChangeSet(targets, now, context);
      const done = due.map((incident) => changes.quietDown(incident, bindings.get(incident.id) ?? []));
      writeChanges(tx, changes);
      return { done, full: due.length === BATCH };
    });
    outcome.quieted.push(...batch.done);
    if (!batch.full) break;
  }
  for (;;) {
    const batch = await db.transaction(async (tx) => {
      const due = await lockDueIncidents(tx, "problem", now.toISOString(), BATCH);
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
