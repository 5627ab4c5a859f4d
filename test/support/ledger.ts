/** Accepting notifications straight through the ledger, as the intake's group commit does. */
import { acceptNotifications, type AcceptedNotification } from "../../receiver/src/ledger/accept-notifications.ts";
import type { DeliveryTargets } from "../../receiver/src/ledger/change-set.ts";
import type { Database } from "../../receiver/src/store/database.ts";
import { NO_TARGETS, prepared } from "./notifications.ts";

export type Admitted = Extract<AcceptedNotification, { admitted: true }>;

/** Accepts payloads as one batch (no routing rules: every one is admitted). */
export async function acceptBatch(db: Database, payloads: readonly unknown[], targets: DeliveryTargets = NO_TARGETS): Promise<Admitted[]> {
  const accepted = await acceptNotifications(db, payloads.map((p) => prepared(p)), targets);
  return accepted.map((a) => {
    if (!a.admitted) throw new Error(`notification ${a.notificationId} was not admitted`);
    return a;
  });
}

export async function acceptOne(db: Database, payload: unknown, targets: DeliveryTargets = NO_TARGETS): Promise<Admitted> {
  return (await acceptBatch(db, [payload], targets))[0]!;
}
