/**
 * Auto-resolves open incidents of stateless signal families after their configured quiet period
 * (INCIDENT_QUIET_PERIODS). SKIP LOCKED lets several replicas sweep without blocking intake.
 */
import type { StatelessFamily } from "../config.ts";
import { applyQuietPeriod } from "../incidents/lifecycle.ts";
import { snapshotOf } from "../connectors/delivery.ts";
import type { Database } from "../store/database.ts";
import { enqueueDeliveries, type DeliveryTargets } from "../store/outbox.ts";
import { INCIDENT_COLUMNS, appendEvents, incidentFromRow, updateIncident, type IncidentRow, type StoredIncident } from "../store/incidents.ts";

const BATCH = 100;

export async function sweepQuietIncidents(
  db: Database,
  quietPeriods: Partial<Record<StatelessFamily, number>>,
  targets: DeliveryTargets,
  now: Date = new Date(),
): Promise<StoredIncident[]> {
  const resolved: StoredIncident[] = [];
  for (const [family, periodMs] of Object.entries(quietPeriods) as Array<[StatelessFamily, number]>) {
    const cutoff = new Date(now.getTime() - periodMs).toISOString();
    for (;;) {
      const batch = await db.transaction(async (tx) => {
        const { rows } = await tx.query<IncidentRow>(
          `SELECT ${INCIDENT_COLUMNS} FROM incidents
           WHERE state = 'open' AND family = $1 AND last_at::timestamptz <= $2::timestamptz
           ORDER BY fired_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
          [family, cutoff],
        );
        const done: StoredIncident[] = [];
        for (const incident of rows.map(incidentFromRow)) {
          const decision = applyQuietPeriod(incident, now.toISOString(), periodMs);
          if (!decision.changed) continue;
          await updateIncident(tx, incident.id, decision.incident);
          await appendEvents(tx, incident.id, decision.events);
          await enqueueDeliveries(tx, targets, decision.events, snapshotOf(incident.id, decision.incident, []));
          done.push({ ...decision.incident, id: incident.id });
        }
        return done;
      });
      resolved.push(...batch);
      if (batch.length < BATCH) break;
    }
  }
  return resolved;
}
