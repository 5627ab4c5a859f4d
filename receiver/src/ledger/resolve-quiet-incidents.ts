/**
 * Auto-resolves open incidents of stateless signal families after their configured quiet period
 * (INCIDENT_QUIET_PERIODS). SKIP LOCKED lets several replicas sweep without blocking intake.
 */
import type { SignalFamily } from "../alerts/normalise.ts";
import { applyQuietPeriod, type IncidentEvent } from "../incidents/lifecycle.ts";
import { bindingsOf } from "../store/configuration-items.ts";
import type { Database } from "../store/database.ts";
import { lockQuietIncidents, type StoredIncident } from "../store/incidents.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";
import { loadNoiseContext } from "./noise-context.ts";

const BATCH = 100;

export async function resolveQuietIncidents(
  db: Database,
  quietPeriods: Partial<Record<SignalFamily, number>>,
  targets: DeliveryTargets,
  now: Date = new Date(),
): Promise<Array<{ incident: StoredIncident; events: IncidentEvent[] }>> {
  const resolved: Array<{ incident: StoredIncident; events: IncidentEvent[] }> = [];
  for (const [family, periodMs] of Object.entries(quietPeriods) as Array<[SignalFamily, number]>) {
    const cutoff = new Date(now.getTime() - periodMs).toISOString();
    for (;;) {
      const batch = await db.transaction(async (tx) => {
        const quiet = await lockQuietIncidents(tx, family, cutoff, BATCH);
        const bindings = await bindingsOf(tx, quiet.map((i) => i.id));
        const context = await loadNoiseContext(tx, { alertIds: quiet.map((i) => i.alertId), incidents: quiet, routings: [], opensIncidents: false, problemBindings: false }, now);
        const changes = new ChangeSet(targets, now, context);
        const done: Array<{ incident: StoredIncident; events: IncidentEvent[] }> = [];
        for (const incident of quiet) {
          const decision = applyQuietPeriod(incident, now.toISOString(), periodMs);
          if (decision.changed) done.push({ incident: changes.record({ id: incident.id, before: incident, decision, bindings: bindings.get(incident.id) ?? [] }), events: decision.events });
        }
        writeChanges(tx, changes);
        return { done, full: quiet.length === BATCH };
      });
      resolved.push(...batch.done);
      if (!batch.full) break;
    }
  }
  return resolved;
}
