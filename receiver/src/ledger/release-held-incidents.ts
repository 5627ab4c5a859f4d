/**
 * The end of holds: every incident whose holds have ended (a maintenance window, a silence, a
 * transient hold) is released — sent now when still open (to its ticket, its group's, or a storm
 * incident's), never sent when it was resolved inside the hold. Holds are rows, so a restart in
 * the middle of one loses nothing; SKIP LOCKED lets several replicas release side by side, each
 * incident once.
 */
import { bindingsOf } from "../store/configuration-items.ts";
import { retryingConflicts, type Database } from "../store/database.ts";
import { lockReleasableIncidents, type StoredIncident } from "../store/incidents.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";
import { loadNoiseContext, remainingHolds } from "./noise-context.ts";

const BATCH = 100;
/** Two replicas releasing held alerts of one new group at once: one opens it, the other runs again and joins it. */
const CONFLICT_RETRIES = 3;

export async function releaseHeldIncidents(db: Database, targets: DeliveryTargets, now: Date = new Date()): Promise<Array<{ incident: StoredIncident; sent: boolean }>> {
  const released: Array<{ incident: StoredIncident; sent: boolean }> = [];
  for (;;) {
    const batch = await retryingConflicts(() => db.transaction(async (tx) => {
      const due = await lockReleasableIncidents(tx, now.toISOString(), BATCH);
      const [bindings, remaining] = await Promise.all([bindingsOf(tx, due.map((i) => i.id)), remainingHolds(tx, due, now)]);
      const context = await loadNoiseContext(tx, { alertIds: [], incidents: due, routings: [], opensIncidents: false, problemBindings: false }, now);
      const changes = new ChangeSet(targets, now, context);
      const done = due.flatMap((incident) => {
        const after = changes.release(incident, bindings.get(incident.id) ?? [], remaining.get(incident.id) ?? []);
        return after.noise?.dispatched === false ? [] : [{ incident: after, sent: incident.state === "open" }];
      });
      writeChanges(tx, changes);
      return { done, full: due.length === BATCH };
    }), CONFLICT_RETRIES);
    released.push(...batch.done);
    if (!batch.full) return released;
  }
}
