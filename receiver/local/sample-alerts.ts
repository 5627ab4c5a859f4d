/** What send-alert does to a sample before posting it: pure, so the rules are tested without a stack. */
import { randomUUID } from "node:crypto";

export interface AlertPayload {
  data: { essentials: Record<string, unknown> & { alertId: string } };
}

/** A "Resolved" notification for the same alert, as Azure sends when a metric alert clears. */
export function asResolved<T extends AlertPayload>(payload: T, at: Date): T {
  const copy = structuredClone(payload);
  copy.data.essentials.monitorCondition = "Resolved";
  copy.data.essentials.resolvedDateTime = at.toISOString();
  return copy;
}

/**
 * The alert under a given alertId: a full ARM id as it is, or a last segment replacing the sample's
 * own (Azure's alert ids end in the alert's GUID: …/providers/Microsoft.AlertsManagement/alerts/{guid}).
 */
export function withAlertId<T extends AlertPayload>(payload: T, alertId: string): T {
  const copy = structuredClone(payload);
  const current = copy.data.essentials.alertId;
  copy.data.essentials.alertId = alertId.startsWith("/") ? alertId : `${current.slice(0, current.lastIndexOf("/") + 1)}${alertId}`;
  return copy;
}

/** The same alert fired anew: a fresh alertId (the receiver keeps one incident per alertId) fired now. */
export function asNewAlert<T extends AlertPayload>(payload: T, at: Date): T {
  const copy = withAlertId(payload, randomUUID());
  copy.data.essentials.firedDateTime = at.toISOString();
  delete copy.data.essentials.resolvedDateTime;
  if (copy.data.essentials.monitorCondition === "Resolved") copy.data.essentials.monitorCondition = "Fired";
  return copy;
}
