/**
 * The end of holds: every incident whose holds have ended (a maintenance window, a silence, a
 * transient hold) is released — sent now when still open (to its ticket, its group's, or a storm
 * incident's), never sent when it was resolved inside the hold. A `pending` hold is the intake's
 * (its group or storm decision, made here just after the commit): always sent. Holds are rows, so a restart in
 * the middle of one loses nothing; SKIP LOCKED lets several replicas release side by side, each
 * incident once.
 */
import { bindingsOf } from "../store/configuration-items.ts";
import { retryingConflicts, type Database } from "../store/database.ts";
import { lockReleasableIncidents, type StoredIncident } from "../store/incidents.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";
import { loadNoiseContext, remainingHolds } from "./noise-context.ts";

const BATCH = 100;
/** Two replicas releasing alerts of one new group at once: one opens it, the other runs again and joins it. */
const CONFLICT_RETRIES = 3;

export interface Released {
  incident: StoredIncident;
  sent: boolean;
  /** Only its group or storm decision was pending (the intake's `pending` hold): no hold a person or a rule set. */
  pending: boolean;
}

export async function releaseHeldIncidents(db: Database, targets: DeliveryTargets, now: Date = new Date()): Promise<Released[]> {
  const released: Released[] = [];
  for (;;) {
    const batch = await retryingConflicts(() => db.transaction(async (tx) => {
      const due = await lockReleasableIncidents(tx, now.toISOString(), BATCH);
      const [bindings, remaining] = await Promise.all([bindingsOf(tx, due.map((i) => i.id)), remainingHolds(tx, due, now)]);
      const context = await loadNoiseContext(tx, { alertIds: [], incidents: due, routings: [], opensIncidents: false, problemBindings: false }, now);
      const changes = new ChangeSet(targets, now, context);
      const done = due.flatMap((incident) => {
        const after = changes.release(incident, bindings.get(incident.id) ?? [], remaining.get(incident.id) ?? []);
        const pending = !incident.hold && (incident.noise?.holds ?? []).every((h) => h.kind === "pending");
        return after.noise?.dispatched === false ? [] : [{ incident: after, sent: pending || incident.state === "open", pending }];
      });
      writeChanges(tx, changes);
      return { done, full: due.length === BATCH };
    }), CONFLICT_RETRIES);
    released.push(...batch.done);
    if (!batch.full) return released;
  }
}
