/**
 * Submitting one of the receiver's own alerts (alerts/self-alert.ts) to the intake, as the webhook
 * route submits Azure's: prepared, routed by the rules in effect, committed in a batch. Admission
 * rules do not apply: they are an allow-list against other tenants' action groups, and an
 * allow-list that forgot the receiver itself must not hide that its path is broken.
 */
import { selfAlertPayload, type SelfAlert } from "../alerts/self-alert.ts";
import type { Principal } from "../auth/token-rules.ts";
import { explain } from "../routing/explain.ts";
import { rulesInEffect, type RoutingRules } from "../routing/load-rules.ts";
import type { AcceptedNotification } from "./accept-notifications.ts";
import type { GroupCommit } from "./group-commit.ts";
import { prepareNotification, type PreparedNotification } from "./prepare-notification.ts";

/** Who raised it, as the notification's caller: the receiver itself, with no token. */
export const SELF_CALLER: Principal = { tenantId: "", objectId: null, name: "secure-export", callerId: "secure-export", tokenVersion: "2.0", roles: [] };

export type SelfAlertIntake = Pick<GroupCommit<PreparedNotification, AcceptedNotification>, "submit">;

export async function submitSelfAlert(intake: SelfAlertIntake, routing: RoutingRules, alert: SelfAlert, now: Date = new Date()): Promise<AcceptedNotification> {
  const payload = selfAlertPayload(alert);
  const prepared = prepareNotification(payload, JSON.stringify(payload), SELF_CALLER);
  // Built here from typed values: a failure is a bug in the caller, not bad input.
  if (!prepared.ok) throw new Error(`self alert ${alert.key} is not a valid notification: ${prepared.message}`);
  const decided = rulesInEffect(routing) ? { routing: explain({ ...routing, admission: null }, prepared.notification.alert, now) } : {};
  return intake.submit({ ...prepared.notification, ...decided });
}
