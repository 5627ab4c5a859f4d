/**
 * Reconciliation's writes (docs/incidents.md#reconciliation): an open incident whose alert Azure
 * reports resolved (monitor condition) or closed (user response) resolves, with what Azure said in
 * its timeline, and its tickets are resolved. One transaction per batch, incidents locked in the
 * store's one order; an incident that changed meanwhile is decided on what it is now.
 */
import type { AlertView } from "../azure/alerts.ts";
import { applyReconciliation, type IncidentEvent } from "../incidents/lifecycle.ts";
import { bindingsOf } from "../store/configuration-items.ts";
import type { Database } from "../store/database.ts";
import { lockIncidentsByAlertId, type StoredIncident } from "../store/incidents.ts";
import { alertKey } from "../store/keys.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";
import { loadNoiseContext } from "./noise-context.ts";

/** Azure's view says the alert needs no one any more. */
export const isOverInAzure = (view: AlertView) => view.monitorCondition === "Resolved" || view.alertState === "Closed";

/** `views` maps each incident's own alertId (as the ledger holds it: Resource Graph may write it in other case) to Azure's view. */
export async function reconcileIncidents(db: Database, views: ReadonlyMap<string, AlertView>, targets: DeliveryTargets, now: Date = new Date()): Promise<Array<{ incidentId: string; family: StoredIncident["family"]; events: IncidentEvent[] }>> {
  const over = [...views].filter(([, view]) => isOverInAzure(view));
  if (over.length === 0) return [];
  return db.transaction(async (tx) => {
    const locked = await lockIncidentsByAlertId(tx, over.map(([alertId]) => alertId));
    const byKey = new Map(over.map(([alertId, view]) => [alertKey(alertId), view]));
    const alerts = locked.filter((i) => i.kind === "alert");
    const context = await loadNoiseContext(tx, { alertIds: alerts.map((i) => i.alertId), incidents: alerts, routings: [], opensIncidents: false, problemBindings: false }, now);
    const changes = new ChangeSet(targets, now, context);
    const bindings = await bindingsOf(tx, locked.map((i) => i.id));
    const results: Array<{ incidentId: string; family: StoredIncident["family"]; events: IncidentEvent[] }> = [];
    for (const incident of locked) {
      const view = byKey.get(alertKey(incident.alertId));
      if (!view) continue;
      const at = view.lastModifiedAt && Date.parse(view.lastModifiedAt) <= now.getTime() ? new Date(view.lastModifiedAt).toISOString() : now.toISOString();
      const decision = applyReconciliation(incident, { at, monitorCondition: view.monitorCondition, alertState: view.alertState, modifiedBy: view.lastModifiedBy });
      if (!decision.changed) continue;
      changes.record({ id: incident.id, before: incident, decision, bindings: bindings.get(incident.id) ?? [] });
      results.push({ incidentId: incident.id, family: incident.family, events: decision.events });
    }
    writeChanges(tx, changes);
    return results;
  });
}
