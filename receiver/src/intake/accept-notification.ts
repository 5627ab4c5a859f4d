/**
 * The intake transaction: the notification, the incident it opens, updates or resolves, its
 * timeline and its CI bindings are committed together, and the caller answers 2xx only after.
 */
import type { CommonAlert } from "../alerts/schema.ts";
import { normaliseAlert, type NormalisedAlert } from "../alerts/normalise.ts";
import type { Principal } from "../auth/token-rules.ts";
import { bindingsFor } from "../cmdb/bindings.ts";
import { snapshotOf } from "../connectors/delivery.ts";
import { applyNotification, type IncidentEvent } from "../incidents/lifecycle.ts";
import type { Database, Queryable } from "../store/database.ts";
import { bindConfigurationItems } from "../store/configuration-items.ts";
import { appendEvents, insertIncident, lockIncidentByAlertId, updateIncident } from "../store/incidents.ts";
import { dedupKey, recordNotification } from "../store/notifications.ts";
import { enqueueDeliveries, type DeliveryTargets } from "../store/outbox.ts";

export interface AcceptedNotification {
  notificationId: string;
  duplicate: boolean;
  alert: NormalisedAlert;
  incidentId: string;
  events: IncidentEvent[];
}

async function applyToIncident(tx: Queryable, alert: NormalisedAlert, notificationId: string, key: string) {
  for (;;) {
    const current = await lockIncidentByAlertId(tx, alert.alertId);
    const decision = applyNotification(current, { alert, notificationId, key });
    if (current) {
      if (decision.changed) await updateIncident(tx, current.id, decision.incident);
      await appendEvents(tx, current.id, decision.events);
      return { incidentId: current.id, ...decision };
    }
    const id = await insertIncident(tx, decision.incident);
    // null: a concurrent transaction created it between our lock and insert; lock theirs and apply on top.
    if (id) {
      await appendEvents(tx, id, decision.events);
      return { incidentId: id, ...decision };
    }
  }
}

export async function acceptNotification(
  db: Database,
  input: { payload: CommonAlert; rawPayload: string; caller: Principal },
  targets: DeliveryTargets = { connectors: [], maxAgeMs: 0 },
): Promise<AcceptedNotification> {
  const alert = normaliseAlert(input.payload);
  const key = dedupKey(input.payload);
  return db.transaction(async (tx) => {
    const recorded = await recordNotification(tx, {
      dedupKey: key,
      alertId: alert.alertId,
      monitorCondition: alert.monitorCondition,
      monitoringService: alert.monitoringService,
      rawPayload: input.rawPayload,
      caller: input.caller,
    });
    if (recorded.duplicate) {
      const existing = await lockIncidentByAlertId(tx, alert.alertId);
      return { notificationId: recorded.id, duplicate: true, alert, incidentId: existing?.id ?? "", events: [] };
    }
    const applied = await applyToIncident(tx, alert, recorded.id, key);
    const bindings = bindingsFor(alert);
    await bindConfigurationItems(tx, applied.incidentId, bindings);
    await enqueueDeliveries(tx, targets, applied.events, snapshotOf(applied.incidentId, applied.incident, bindings));
    return { notificationId: recorded.id, duplicate: false, alert, incidentId: applied.incidentId, events: applied.events };
  });
}
