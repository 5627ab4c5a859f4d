/**
 * The heartbeat's record (docs/operations.md#heartbeat): one row per attempt (its nonce, when it
 * was sent, Azure's notification id and verdict, when it arrived) and the one row of the
 * "heartbeat missing" alert. Every change is one conditional statement, so with several replicas a
 * nonce is taken once and the alert fires and resolves once.
 */
import { classifyArrival, type Arrival, type Attempt } from "../alerts/heartbeat.ts";
import type { Queryable } from "./database.ts";
import { isoTime } from "./incidents.ts";

/** Attempts kept: enough for the decisions and the status page; older ones are deleted as new ones are sent. */
const KEPT_DAYS = 7;

export async function recordHeartbeatSent(db: Queryable, attempt: { nonce: string; sentAt: Date; expiresAt: Date }): Promise<void> {
  await db.query("INSERT INTO heartbeats (nonce, sent_at, expires_at) VALUES ($1, $2, $3)", [attempt.nonce, attempt.sentAt.toISOString(), attempt.expiresAt.toISOString()]);
  await db.query("DELETE FROM heartbeats WHERE sent_at < $1", [new Date(attempt.sentAt.getTime() - KEPT_DAYS * 86_400_000).toISOString()]);
}

export async function recordHeartbeatAccepted(db: Queryable, nonce: string, notificationId: string | null): Promise<void> {
  await db.query("UPDATE heartbeats SET notification_id = $2 WHERE nonce = $1", [nonce, notificationId]);
}

export async function recordHeartbeatSendError(db: Queryable, nonce: string, error: string): Promise<void> {
  await db.query("UPDATE heartbeats SET send_error = $2 WHERE nonce = $1", [nonce, error.slice(0, 1000)]);
}

export interface AzureVerdict {
  /** notificationStatus' overall `state` (e.g. Completed, Failed, InProgress). */
  state: string;
  /** The secure webhook's action detail: Status, SubState, Detail, SendTime, as Azure wrote them. */
  detail: Record<string, unknown> | null;
}

export async function recordAzureVerdict(db: Queryable, nonce: string, verdict: AzureVerdict, checkedAt: Date): Promise<void> {
  await db.query("UPDATE heartbeats SET azure_state = $2, azure_detail = $3::jsonb, azure_checked_at = $4 WHERE nonce = $1", [
    nonce,
    verdict.state,
    verdict.detail === null ? null : JSON.stringify(verdict.detail),
    checkedAt.toISOString(),
  ]);
}

/**
 * Takes a nonce as arrived: `received` only the first time, before it expires; otherwise why not.
 * The UPDATE alone decides, so two replicas receiving the same nonce cannot both count it.
 */
export async function claimHeartbeat(db: Queryable, nonce: string, shape: string, now: Date): Promise<Arrival> {
  const { rows } = await db.query("UPDATE heartbeats SET received_at = $2, received_shape = $3 WHERE nonce = $1 AND received_at IS NULL AND expires_at > $2 RETURNING 1", [nonce, now.toISOString(), shape]);
  if (rows.length > 0) return "received";
  const found = await db.query<{ expires_at: string; received_at: string | null }>("SELECT to_json(expires_at)#>>'{}' AS expires_at, to_json(received_at)#>>'{}' AS received_at FROM heartbeats WHERE nonce = $1", [nonce]);
  const row = found.rows[0];
  const arrival = classifyArrival(row ? { expiresAt: new Date(row.expires_at), receivedAt: row.received_at ? new Date(row.received_at) : null } : null, now);
  // Taken by another request between the two statements: it is used now.
  return arrival === "received" ? "used" : arrival;
}

/** The attempts the missing-heartbeat decision looks at: those since `since`. */
export async function heartbeatAttempts(db: Queryable, since: Date): Promise<Attempt[]> {
  const { rows } = await db.query<{ sent_at: string; received_at: string | null }>(
    "SELECT to_json(sent_at)#>>'{}' AS sent_at, to_json(received_at)#>>'{}' AS received_at FROM heartbeats WHERE sent_at >= $1 ORDER BY sent_at",
    [since.toISOString()],
  );
  return rows.map((r) => ({ sentAt: new Date(r.sent_at), receivedAt: r.received_at ? new Date(r.received_at) : null }));
}

/** Heartbeats sent with an id Azure gave but whose verdict is not final yet, newest first. */
export async function heartbeatsAwaitingVerdict(db: Queryable, since: Date): Promise<Array<{ nonce: string; notificationId: string }>> {
  const { rows } = await db.query<{ nonce: string; notification_id: string }>(
    `SELECT nonce, notification_id FROM heartbeats WHERE notification_id IS NOT NULL AND sent_at >= $1
       AND (azure_state IS NULL OR lower(azure_state) NOT IN ('completed', 'failed', 'succeeded', 'canceled')) ORDER BY sent_at DESC LIMIT 5`,
    [since.toISOString()],
  );
  return rows.map((r) => ({ nonce: r.nonce, notificationId: r.notification_id }));
}

/** Marks the "heartbeat missing" alert fired; false when it already was (another replica fired it). */
export async function markMissingFired(db: Queryable, since: Date, now: Date): Promise<boolean> {
  const { rows } = await db.query("UPDATE heartbeat_alert SET fired_at = $1, missing_since = $2 WHERE fired_at IS NULL RETURNING 1", [now.toISOString(), since.toISOString()]);
  return rows.length > 0;
}

/** Clears the fired alert; its `missing since` when this call cleared it, null when it was not fired (or another replica cleared it). */
export async function clearMissingFired(db: Queryable): Promise<Date | null> {
  const { rows } = await db.query<{ missing_since: string }>(
    `UPDATE heartbeat_alert h SET fired_at = NULL, missing_since = NULL FROM (SELECT missing_since FROM heartbeat_alert FOR UPDATE) old
     WHERE h.fired_at IS NOT NULL RETURNING to_json(old.missing_since)#>>'{}' AS missing_since`,
  );
  return rows[0] ? new Date(rows[0].missing_since) : null;
}

/** Un-does markMissingFired when the "Fired" could not be submitted, so the next run tries again. */
export async function unmarkMissingFired(db: Queryable): Promise<void> {
  await db.query("UPDATE heartbeat_alert SET fired_at = NULL, missing_since = NULL");
}

export interface HeartbeatStatus {
  lastSentAt: string | null;
  /** Why the last createNotifications failed, when it did. */
  lastSendError: string | null;
  lastReceivedAt: string | null;
  /** Azure's verdict on the newest heartbeat it has given one for. */
  azure: { state: string; detail: Record<string, unknown> | null; checkedAt: string; sentAt: string } | null;
  /** Since when the heartbeat is missing, while its alert is fired; else null. */
  missingSince: string | null;
}

/** What the status page and the metrics show of the heartbeat. */
export async function heartbeatStatus(db: Queryable): Promise<HeartbeatStatus> {
  const { rows } = await db.query<{
    last_sent: string | null;
    last_error: string | null;
    last_received: string | null;
    azure_state: string | null;
    azure_detail: unknown;
    azure_checked_at: string | null;
    azure_sent_at: string | null;
    missing_since: string | null;
  }>(
    `SELECT
       (SELECT to_json(max(sent_at))#>>'{}' FROM heartbeats) AS last_sent,
       (SELECT send_error FROM heartbeats ORDER BY sent_at DESC LIMIT 1) AS last_error,
       (SELECT to_json(max(received_at))#>>'{}' FROM heartbeats) AS last_received,
       v.azure_state, v.azure_detail, to_json(v.azure_checked_at)#>>'{}' AS azure_checked_at, to_json(v.sent_at)#>>'{}' AS azure_sent_at,
       (SELECT to_json(missing_since)#>>'{}' FROM heartbeat_alert WHERE fired_at IS NOT NULL) AS missing_since
     FROM (SELECT 1) one
     LEFT JOIN LATERAL (SELECT azure_state, azure_detail, azure_checked_at, sent_at FROM heartbeats WHERE azure_state IS NOT NULL ORDER BY sent_at DESC LIMIT 1) v ON true`,
  );
  const row = rows[0]!;
  const detail = typeof row.azure_detail === "string" ? (JSON.parse(row.azure_detail) as Record<string, unknown>) : ((row.azure_detail as Record<string, unknown> | null) ?? null);
  return {
    lastSentAt: row.last_sent ? isoTime(row.last_sent) : null,
    lastSendError: row.last_error,
    lastReceivedAt: row.last_received ? isoTime(row.last_received) : null,
    azure: row.azure_state ? { state: row.azure_state, detail, checkedAt: isoTime(row.azure_checked_at!), sentAt: isoTime(row.azure_sent_at!) } : null,
    missingSince: row.missing_since ? isoTime(row.missing_since) : null,
  };
}
