/**
 * Accepting a batch of notifications in one transaction: record each (once per dedup key), lock
 * the incidents they concern, decide in memory with the pure state machine in arrival order, write
 * the changes set-based, commit. Callers answer 2xx only after that commit.
 */
import { randomUUID } from "node:crypto";
import type { SignalFamily } from "../alerts/normalise.ts";
import { applyNotification, type IncidentEvent } from "../incidents/lifecycle.ts";
import type { Database } from "../store/database.ts";
import { lockIncidentsByAlertId, type StoredIncident } from "../store/incidents.ts";
import { alertKey } from "../store/keys.ts";
import { recordNotifications } from "../store/notifications.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";
import type { PreparedNotification } from "./prepare-notification.ts";

export interface AcceptedNotification {
  notificationId: string;
  duplicate: boolean;
  incidentId: string;
  family: SignalFamily;
  /** The incident changes this notification made (none for a duplicate). */
  events: IncidentEvent[];
}

export async function acceptNotifications(db: Database, batch: readonly PreparedNotification[], targets: DeliveryTargets): Promise<AcceptedNotification[]> {
  return db.transaction(
    async (tx) => {
      const [recorded, locked] = await Promise.all([
        recordNotifications(
          tx,
          batch.map((n) => ({
            dedupKey: n.dedupKey,
            alertId: n.alert.alertId,
            monitorCondition: n.alert.monitorCondition,
            monitoringService: n.alert.monitoringService,
            rawPayload: n.rawPayload,
            caller: n.caller,
          })),
        ),
        lockIncidentsByAlertId(tx, batch.map((n) => n.alert.alertId)),
      ]);
      const current = new Map<string, StoredIncident>(locked.map((i) => [alertKey(i.alertId), i]));
      const changes = new ChangeSet(targets);
      const applied = new Set<string>();
      const results = batch.map((n): AcceptedNotification => {
        const key = alertKey(n.alert.alertId);
        const stored = recorded.get(n.dedupKey);
        if (!stored) throw new Error(`notification ${n.dedupKey} was neither inserted nor found`);
        const before = current.get(key) ?? null;
        // A delivery stored earlier, or the same delivery twice in this batch, changes nothing.
        if (stored.duplicate || applied.has(n.dedupKey)) {
          return { notificationId: stored.id, duplicate: true, incidentId: before?.id ?? "", family: n.alert.family, events: [] };
        }
        applied.add(n.dedupKey);
        const decision = applyNotification(before, { alert: n.alert, notificationId: stored.id, key: n.dedupKey });
        const id = before?.id ?? randomUUID();
        current.set(key, changes.record(id, before === null, decision, n.bindings));
        return { notificationId: stored.id, duplicate: false, incidentId: id, family: n.alert.family, events: decision.events };
      });
      writeChanges(tx, changes);
      return results;
    },
    { pipelined: true },
  );
}
