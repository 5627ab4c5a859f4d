/** An operator acknowledges or comments on an incident (CLI, console): the timeline has it, and its tickets (and, for an acknowledgement, its Azure alert) are told. */
import { applyUpdate, type IncidentEvent } from "../incidents/lifecycle.ts";
import { bindingsOf } from "../store/configuration-items.ts";
import type { Database } from "../store/database.ts";
import { lockIncidentById, type StoredIncident } from "../store/incidents.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";
import { loadNoiseContext } from "./noise-context.ts";

/** Null when there is no such incident; `events` is empty when nothing changed (acknowledging a resolved incident). */
export async function updateIncident(
  db: Database,
  command: { incidentId: string; type: "acknowledged" | "commented"; actor: string; note: string | null; at: string },
  targets: DeliveryTargets,
): Promise<{ incident: StoredIncident; events: IncidentEvent[] } | null> {
  return db.transaction(async (tx) => {
    const current = await lockIncidentById(tx, command.incidentId);
    if (!current) return null;
    const decision = applyUpdate(current, { type: command.type, at: command.at, by: command.actor, detail: { source: "operator", ...(command.note ? { note: command.note } : {}) } });
    if (decision.events.length === 0) return { incident: current, events: [] };
    const bindings = (await bindingsOf(tx, [current.id])).get(current.id) ?? [];
    const now = new Date();
    const alerts = current.kind === "alert" ? [current] : [];
    const context = await loadNoiseContext(tx, { alertIds: alerts.map((i) => i.alertId), incidents: alerts, routings: [], opensIncidents: false, problemBindings: false }, now);
    const changes = new ChangeSet(targets, now, context);
    const incident = changes.record({ id: current.id, before: current, decision, bindings, note: command.note });
    writeChanges(tx, changes);
    return { incident, events: decision.events };
  });
}
