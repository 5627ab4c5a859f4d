/**
 * The heartbeat job (docs/operations.md#heartbeat): every HEARTBEAT_INTERVAL the replica holding
 * the lease first decides whether the heartbeat is missing (firing or resolving the receiver's
 * own alert), then reads Azure's verdict on earlier heartbeats, then asks Azure for a new one:
 * createNotifications on the action group with one secure webhook receiver, our own URL with a
 * fresh one-time nonce. Azure's post arrives at POST /api/alerts on any replica. Nothing here
 * touches the alert intake's path but the rare self alert, which goes through it like any alert.
 */
import { randomBytes } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import { heartbeatUrl, nonceLifetimeMs } from "../alerts/heartbeat.ts";
import { createNotifications, notificationStatus } from "../azure/action-groups.ts";
import type { ArmClient } from "../azure/arm.ts";
import type { HeartbeatConfig } from "../azure/heartbeat-config.ts";
import { checkHeartbeatMissing } from "../ledger/heartbeat.ts";
import type { SelfAlertIntake } from "../ledger/self-alerts.ts";
import type { Metrics } from "../metrics.ts";
import type { RoutingRules } from "../routing/load-rules.ts";
import type { Database } from "../store/database.ts";
import { heartbeatsAwaitingVerdict, recordAzureVerdict, recordHeartbeatAccepted, recordHeartbeatSendError, recordHeartbeatSent } from "../store/heartbeats.ts";
import { acquireLease } from "../store/leases.ts";
import { every, type Job } from "./every.ts";

export const HEARTBEAT_LEASE = "heartbeat";

export interface HeartbeatJobOptions {
  db: Database;
  arm: ArmClient;
  intake: SelfAlertIntake;
  routing: RoutingRules;
  config: HeartbeatConfig;
  metrics: Metrics;
  log: FastifyBaseLogger;
  now?: () => Date;
}

export const newNonce = (): string => randomBytes(32).toString("base64url");

/** One run, lease already held: decide, read verdicts, send the next heartbeat. */
export async function heartbeatOnce(options: HeartbeatJobOptions): Promise<void> {
  const now = options.now ?? (() => new Date());
  const { config, db, log } = options;
  // Deciding must not stop the heartbeat from being sent (and the other way round).
  const change = await checkHeartbeatMissing({ db, intake: options.intake, routing: options.routing, actionGroupId: config.actionGroupId, intervalMs: config.intervalMs }, now()).catch((error: unknown) => {
    log.warn({ err: error }, `heartbeat: whether it is missing cannot be decided now: ${(error as Error).message}`);
    return "none" as const;
  });
  if (change === "fired") log.error(`heartbeat: none arrived through the action group for two intervals; the "secure-export heartbeat missing" alert is fired (docs/operations.md#heartbeat)`);
  if (change === "resolved") log.info(`heartbeat: arriving again; the "secure-export heartbeat missing" alert is resolved`);

  for (const pending of await heartbeatsAwaitingVerdict(db, new Date(now().getTime() - nonceLifetimeMs(config.intervalMs)))) {
    try {
      const verdict = await notificationStatus(options.arm, config.actionGroupId, pending.notificationId);
      if (verdict) await recordAzureVerdict(db, pending.nonce, verdict, now());
    } catch (error) {
      log.warn({ notificationId: pending.notificationId }, `heartbeat: Azure's verdict on notification ${pending.notificationId} cannot be read yet: ${(error as Error).message}`);
    }
  }

  const nonce = newNonce();
  const sentAt = now();
  await recordHeartbeatSent(db, { nonce, sentAt, expiresAt: new Date(sentAt.getTime() + nonceLifetimeMs(config.intervalMs)) });
  try {
    const sent = await createNotifications(options.arm, config.actionGroupId, {
      serviceUri: heartbeatUrl(config.publicUrl, nonce),
      objectId: config.appObjectId,
      identifierUri: config.identifierUri,
      tenantId: config.tenantId,
    });
    await recordHeartbeatAccepted(db, nonce, sent.notificationId);
    options.metrics.heartbeats.inc({ outcome: "sent" });
  } catch (error) {
    const message = (error as Error).message;
    await recordHeartbeatSendError(db, nonce, message);
    options.metrics.heartbeats.inc({ outcome: "send_failed" });
    log.warn(`heartbeat: Azure refused the test notification (${message}); the receiver's identity needs the role on the action group and ownership of the application (docs/deploy/pulumi.md#the-heartbeat)`);
  }
}

export function startHeartbeat(options: HeartbeatJobOptions & { holder: string; firstAfterMs?: number }): Job {
  const log = options.log.child({ component: "heartbeat" });
  const { intervalMs } = options.config;
  return every({ name: "heartbeat", intervalMs, firstAfterMs: options.firstAfterMs ?? Math.min(intervalMs, 30_000), log }, async () => {
    // Longer than the interval, so the holder keeps it between runs; another replica takes over after it died.
    if (!(await acquireLease(options.db, HEARTBEAT_LEASE, options.holder, intervalMs * 2))) return;
    await heartbeatOnce({ ...options, log });
  });
}
