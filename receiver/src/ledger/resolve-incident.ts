/** An operator resolves an incident Azure will never resolve (log, activity log, budgets…). */
import { applyOperatorResolve, type Actor, type IncidentEvent } from "../incidents/lifecycle.ts";
import { bindingsOf } from "../store/configuration-items.ts";
import type { Database } from "../store/database.ts";
import { lockIncidentById, type StoredIncident } from "../store/incidents.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";
import { loadNoiseContext } from "./noise-context.ts";

export interface ResolvedByOperator {
  incident: StoredIncident;
  /** Empty when the incident was already resolved. */
  events: IncidentEvent[];
}

/** Null when there is no such incident. */
export async function resolveIncident(
  db: Database,
  command: { incidentId: string; actor: Actor; note: string | null; at: string },
  targets: DeliveryTargets,
): Promise<ResolvedByOperator | null> {
  return db.transaction(async (tx) => {
    const current = await lockIncidentById(tx, command.incidentId);
    if (!current) return null;
    const decision = applyOperatorResolve(current, command.at, command.actor, command.note);
    if (!decision.changed) return { incident: current, events: [] };
    const now = new Date();
    const bindings = (await bindingsOf(tx, [current.id])).get(current.id) ?? [];
    // A member's resolve changes its problem (which may resolve with it): locked after the member, like every command.
    const incidents = current.kind === "alert" ? [current] : [];
    const context = await loadNoiseContext(tx, { alertIds: incidents.map((i) => i.alertId), incidents, routings: [], opensIncidents: false, problemBindings: false }, now);
    const changes = new ChangeSet(targets, now, context);
    const incident = changes.record({ id: current.id, before: current, decision, bindings, note: command.note });
    writeChanges(tx, changes);
    return { incident, events: decision.events };
  });
}
