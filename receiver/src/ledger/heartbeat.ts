/**
 * The heartbeat in the ledger (docs/operations.md#heartbeat): the "heartbeat missing" alert is fired
 * and resolved through the intake like any of the receiver's own alerts (ledger/self-alerts.ts), so
 * the ITSM learns the path is broken — and whole again — the way it learns of anything else. The store's conditional updates make each happen
 * once however many replicas see it.
 */
import { heartbeatMissingAlert, missingAlertChange, missingSince, nonceLifetimeMs } from "../alerts/heartbeat.ts";
import type { RoutingRules } from "../routing/load-rules.ts";
import type { Database } from "../store/database.ts";
import { clearMissingFired, heartbeatAttempts, heartbeatStatus, markMissingFired, unmarkMissingFired } from "../store/heartbeats.ts";
import { submitSelfAlert, type SelfAlertIntake } from "./self-alerts.ts";

export interface HeartbeatAlerting {
  db: Database;
  intake: SelfAlertIntake;
  routing: RoutingRules;
  actionGroupId: string;
  intervalMs: number;
}

/**
 * Sends the "Resolved" when the alert was fired and this call is the one that cleared it. If the
 * intake cannot take it (busy, the store away), the alert is marked fired again, so the job's next
 * run resolves it: a "Resolved" is never lost.
 */
export async function resolveHeartbeatMissing(options: HeartbeatAlerting, now: Date = new Date()): Promise<boolean> {
  const since = await clearMissingFired(options.db);
  if (!since) return false;
  try {
    await submitSelfAlert(options.intake, options.routing, heartbeatMissingAlert({ condition: "Resolved", since, resolvedAt: now, actionGroupId: options.actionGroupId }), now);
  } catch (error) {
    await markMissingFired(options.db, since, now);
    throw error;
  }
  return true;
}

/** Fires or resolves the "heartbeat missing" alert as the attempts so far say; what it did. */
export async function checkHeartbeatMissing(options: HeartbeatAlerting, now: Date = new Date()): Promise<"fired" | "resolved" | "none"> {
  // Only attempts that could still matter: the last arrival before them is all that counts.
  const attempts = await heartbeatAttempts(options.db, new Date(now.getTime() - 3 * nonceLifetimeMs(options.intervalMs) - 86_400_000));
  const since = missingSince(attempts, options.intervalMs, now);
  const status = await heartbeatStatus(options.db);
  const change = missingAlertChange({ missingSince: since, firedAt: status.missingSince ? new Date(status.missingSince) : null });
  if (change === "fire" && since) {
    if (!(await markMissingFired(options.db, since, now))) return "none";
    try {
      await submitSelfAlert(options.intake, options.routing, heartbeatMissingAlert({ condition: "Fired", since, actionGroupId: options.actionGroupId, intervalMs: options.intervalMs, lastError: status.lastSendError }), now);
    } catch (error) {
      await unmarkMissingFired(options.db);
      throw error;
    }
    return "fired";
  }
  if (change === "resolve") return (await resolveHeartbeatMissing(options, now)) ? "resolved" : "none";
  return "none";
}
