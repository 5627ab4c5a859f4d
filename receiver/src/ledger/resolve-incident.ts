/** An operator resolves an incident Azure will never resolve (log, activity log, budgets…). */
import { applyOperatorResolve, type Actor, type IncidentEvent } from "../incidents/lifecycle.ts";
import { bindingsOf } from "../store/configuration-items.ts";
import type { Database } from "../store/database.ts";
import { lockIncidentById, type StoredIncident } from "../store/incidents.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";

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
    const bindings = (await bindingsOf(tx, [current.id])).get(current.id) ?? [];
    const changes = new ChangeSet(targets);
    const incident = changes.record({ id: current.id, before: current, decision, bindings, note: command.note });
    writeChanges(tx, changes);
    return { incident, events: decision.events };
  });
}
