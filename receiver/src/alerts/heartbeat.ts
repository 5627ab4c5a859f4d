/**
 * The heartbeat's decisions (docs/operations.md#heartbeat), pure: the caller gives the time.
 * Azure posts its test payload to `{PUBLIC_URL}/api/alerts?heartbeat=<nonce>`; a nonce counts once,
 * within its lifetime. Two heartbeats that had a whole interval each to arrive and did not, after
 * the last one that did, are "missing": the receiver raises its own alert `heartbeat-missing`
 * (alerts/self-alert.ts), resolved by the next heartbeat that arrives.
 */
import type { SelfAlert } from "./self-alert.ts";

export const HEARTBEAT_MISSING_KEY = "heartbeat-missing";
export const HEARTBEAT_MISSING_RULE = "secure-export heartbeat missing";
/** The query parameter of our webhook URL that carries the nonce. */
export const HEARTBEAT_PARAMETER = "heartbeat";
/** Attempts that did not arrive, after the last that did, before the heartbeat is missing. */
export const MISSED_TO_FIRE = 2;

/** 32 random bytes, base64url: what `newNonce` makes and the only shape the store is asked about. */
const NONCE = /^[A-Za-z0-9_-]{43}$/;
export const isNonceShaped = (value: string): boolean => NONCE.test(value);

/** Where Azure posts the heartbeat: our own webhook, with the nonce. */
export function heartbeatUrl(publicUrl: string, nonce: string): string {
  const url = new URL(`${publicUrl.replace(/\/+$/, "")}/api/alerts`);
  url.searchParams.set(HEARTBEAT_PARAMETER, nonce);
  return url.toString();
}

/**
 * What a request carrying a nonce is: `received` (known, first time, in time) records the
 * heartbeat; the others are answered 202 and recorded nowhere but the log and metrics. None of them
 * is an alert: the payload is Azure's test sample, and as an alert it would open a ticket for a
 * fictional rule; a retried or replayed test must not either.
 */
export type Arrival = "received" | "unknown" | "used" | "expired";

export function classifyArrival(attempt: { expiresAt: Date; receivedAt: Date | null } | null, now: Date): Arrival {
  if (!attempt) return "unknown";
  if (attempt.receivedAt) return "used";
  return attempt.expiresAt.getTime() > now.getTime() ? "received" : "expired";
}

/** A nonce is good for two intervals: a heartbeat that takes longer has been missed anyway. */
export const nonceLifetimeMs = (intervalMs: number): number => 2 * intervalMs;

export interface Attempt {
  sentAt: Date;
  receivedAt: Date | null;
}

/**
 * Since when the heartbeat is missing, or null: the first of at least MISSED_TO_FIRE attempts,
 * sent after the last one that arrived, that each had a whole interval to arrive and did not.
 * An attempt whose createNotifications failed counts as missed too: the path is not proven.
 */
export function missingSince(attempts: readonly Attempt[], intervalMs: number, now: Date): Date | null {
  const ordered = [...attempts].sort((a, b) => a.sentAt.getTime() - b.sentAt.getTime());
  const lastArrived = ordered.findLastIndex((a) => a.receivedAt !== null);
  const missed = ordered.slice(lastArrived + 1).filter((a) => a.sentAt.getTime() + intervalMs <= now.getTime());
  return missed.length >= MISSED_TO_FIRE ? missed[0]!.sentAt : null;
}

/** What the "heartbeat missing" alert needs now: fire it, resolve it, or nothing. */
export function missingAlertChange(state: { missingSince: Date | null; firedAt: Date | null }): "fire" | "resolve" | "none" {
  if (state.missingSince && !state.firedAt) return "fire";
  if (!state.missingSince && state.firedAt) return "resolve";
  return "none";
}

export function heartbeatMissingAlert(
  options: { condition: "Fired"; since: Date; actionGroupId: string; intervalMs: number; lastError: string | null } | { condition: "Resolved"; since: Date; resolvedAt: Date; actionGroupId: string },
): SelfAlert {
  const properties: Record<string, string> = { actionGroup: options.actionGroupId };
  if (options.condition === "Fired") {
    properties.interval = `${Math.round(options.intervalMs / 60_000)} min`;
    if (options.lastError) properties.lastError = options.lastError;
  }
  return {
    key: HEARTBEAT_MISSING_KEY,
    condition: options.condition,
    rule: HEARTBEAT_MISSING_RULE,
    severity: "Sev1",
    description:
      options.condition === "Fired"
        ? `No heartbeat has arrived through the action group since ${options.since.toISOString()}: alerts from Azure may not be reaching the receiver (a paused webhook, a broken Entra app, a wrong App ID URI or URL). See docs/operations.md#heartbeat.`
        : `Heartbeats arrive again through the action group (missing since ${options.since.toISOString()}).`,
    firedAt: options.since,
    ...(options.condition === "Resolved" ? { resolvedAt: options.resolvedAt } : {}),
    properties,
  };
}
