/**
 * The intake transaction: everything a notification changes is committed together, and the
 * caller answers 2xx only after this resolves.
 */
import type { CommonAlert } from "../alerts/schema.ts";
import { normaliseAlert, type NormalisedAlert } from "../alerts/normalise.ts";
import type { Principal } from "../auth/token-rules.ts";
import type { Database } from "../store/database.ts";
import { dedupKey, recordNotification } from "../store/notifications.ts";

export interface AcceptedNotification {
  notificationId: string;
  duplicate: boolean;
  alert: NormalisedAlert;
}

export async function acceptNotification(
  db: Database,
  input: { payload: CommonAlert; rawPayload: string; caller: Principal },
): Promise<AcceptedNotification> {
  const alert = normaliseAlert(input.payload);
  const recorded = await db.transaction((tx) =>
    recordNotification(tx, {
      dedupKey: dedupKey(input.payload),
      alertId: alert.alertId,
      monitorCondition: alert.monitorCondition,
      monitoringService: alert.monitoringService,
      rawPayload: input.rawPayload,
      caller: input.caller,
    }),
  );
  return { notificationId: recorded.id, duplicate: recorded.duplicate, alert };
}
