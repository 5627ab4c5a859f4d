/**
 * Accepting a batch of notifications in one transaction: record each (once per dedup key), lock
 * the incidents they concern, decide in memory with the pure state machine in arrival order, write
 * the changes set-based, commit. Callers answer 2xx only after that commit.
 *
 * Noise control (docs/noise.md) decides in the same transaction, set-based: the problems and
 * storm counters the batch may touch are locked with the incidents (one round trip on PostgreSQL),
 * and the silences in force are read alongside.
 *
 * Admission: a notification the rules refuse is recorded (with the rule) and changes nothing. It
 * is refused only when it would open an incident: one of an incident that already exists is
 * always taken in, so a resolution is never lost because the rules changed meanwhile.
 */
import type { SignalFamily } from "../alerts/normalise.ts";
import { applyNotification, type IncidentEvent } from "../incidents/lifecycle.ts";
import { refirePolicyOf } from "../routing/explain.ts";
import type { Database } from "../store/database.ts";
import { lockIncidentsByAlertId, type StoredIncident } from "../store/incidents.ts";
import { problemTextsOf } from "../store/problem-texts.ts";
import { alertKey, newIncidentId } from "../store/keys.ts";
import { admitNotifications, recordNotifications } from "../store/notifications.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";
import { covers, loadNoiseContext } from "./noise-context.ts";
import type { PreparedNotification } from "./prepare-notification.ts";

export type AcceptedNotification =
  | {
      admitted: true;
      notificationId: string;
      duplicate: boolean;
      incidentId: string;
      family: SignalFamily;
      /** The incident changes this notification made (none for a duplicate). */
      events: IncidentEvent[];
    }
  | {
      admitted: false;
      notificationId: string;
      duplicate: boolean;
      /** The admission rule that refused it; null when the default did. */
      rule: string | null;
      family: SignalFamily;
    };

export async function acceptNotifications(db: Database, batch: readonly PreparedNotification[], targets: DeliveryTargets, now: Date = new Date()): Promise<AcceptedNotification[]> {
  // A storm's batches lock the same problems again and again: their long text is read once (store/problem-texts.ts).
  const problemTexts = problemTextsOf(db);
  const { results, texts, changes, sameText } = await db.transaction(
    async (tx) => {
      const texts = problemTexts.begin();
      const routings = batch.map((n) => n.routing);
      const noisy = routings.some((r) => r?.noise);
      const alertIds = batch.map((n) => n.alert.alertId);
      const [recorded, locked, context] = await Promise.all([
        recordNotifications(
          tx,
          batch.map((n) => ({
            dedupKey: n.dedupKey,
            alertId: n.alert.alertId,
            monitorCondition: n.alert.monitorCondition,
            monitoringService: n.alert.monitoringService,
            rawPayload: n.rawPayload,
            caller: n.caller,
            admitted: n.routing?.admitted ?? true,
            admissionRule: n.routing?.admitted === false ? n.routing.admission.rule : null,
          })),
        ),
        lockIncidentsByAlertId(tx, alertIds),
        // The groups and storm counters the arrivals' rules name, and the silences in force. An alert that
        // already belongs to a problem the rules do not name (they changed since, or its storm passed)
        // has it locked below: rare, so a storm of new alerts pays no lookups for it.
        loadNoiseContext(tx, { alertIds: [], incidents: [], routings: noisy ? routings : [], opensIncidents: true, problemBindings: false, texts }, now),
      ]);
      if (!covers(context, locked)) await loadNoiseContext(tx, { alertIds, incidents: locked, routings: [], opensIncidents: false, problemBindings: false, texts }, now, context);
      const current = new Map<string, StoredIncident>(locked.map((i) => [alertKey(i.alertId), i]));
      const changes = new ChangeSet(targets, now, context);
      const applied = new Set<string>();
      const admittedAfterAll: string[] = [];
      const results = batch.map((n): AcceptedNotification => {
        const key = alertKey(n.alert.alertId);
        const stored = recorded.get(n.dedupKey);
        if (!stored) throw new Error(`notification ${n.dedupKey} was neither inserted nor found`);
        const before = current.get(key) ?? null;
        const family = n.alert.family;
        const duplicate = stored.duplicate || applied.has(n.dedupKey);
        if (!before && !stored.admitted) return { admitted: false, notificationId: stored.id, duplicate, rule: stored.admissionRule, family };
        if (!stored.admitted && !stored.duplicate) admittedAfterAll.push(stored.id);
        // A delivery stored earlier, or the same delivery twice in this batch, changes nothing.
        if (duplicate) return { admitted: true, notificationId: stored.id, duplicate: true, incidentId: before?.id ?? "", family, events: [] };
        applied.add(n.dedupKey);
        const decision = applyNotification(before, { alert: n.alert, notificationId: stored.id, key: n.dedupKey }, refirePolicyOf(before?.routing ?? null));
        const id = before?.id ?? newIncidentId();
        current.set(key, changes.record({ id, before, decision, bindings: n.bindings, routing: n.routing ?? null, alert: n.alert }));
        return { admitted: true, notificationId: stored.id, duplicate: false, incidentId: id, family, events: decision.events };
      });
      admitNotifications(tx, admittedAfterAll);
      const sameText = writeChanges(tx, changes);
      return { results, texts, changes, sameText };
    },
    { pipelined: true },
  );
  // Committed (the attempt that committed, if the transaction ran again): what it wrote is its version now.
  texts.committed({ inserted: changes.inserted.values(), updated: changes.updated.values(), sameText });
  return results;
}
