/**
 * Credential expiry (docs/operations.md#credential-expiry): every hour, one replica (a lease) looks
 * at each connector's `credentialExpiresAt` and raises the receiver's own alert
 * `credential-expiry/<connector>` CREDENTIAL_WARN_DAYS before it, through the intake like any
 * alert; the alert resolves once a later date is configured (a restart with new settings). The
 * open incident in the store is what remembers it was raised, so a restart or another replica
 * neither raises it twice nor forgets to resolve it. Submitting waits for a batch like any alert,
 * and never holds up Azure's.
 */
import type { FastifyBaseLogger } from "fastify";
import { SELF_ALERT_ID_PREFIX } from "../alerts/self-alert.ts";
import { CREDENTIAL_ALERT_PREFIX, credentialAlert, credentialExpiry, type WatchedCredential } from "../connectors/credential-expiry.ts";
import { submitSelfAlert, type SelfAlertIntake } from "../ledger/self-alerts.ts";
import type { RoutingRules } from "../routing/load-rules.ts";
import type { Database } from "../store/database.ts";
import { acquireLease } from "../store/leases.ts";
import { openSelfAlertIncidents } from "../store/ledger-queries.ts";
import { every, type Job } from "./every.ts";

export const CREDENTIAL_EXPIRY_LEASE = "credential-expiry";
/** Days count down slowly: an hour late is soon enough, and costs one indexed query. */
export const CREDENTIAL_CHECK_MS = 3_600_000;

export interface CredentialCheckOptions {
  db: Database;
  intake: SelfAlertIntake;
  routing: RoutingRules;
  credentials: readonly WatchedCredential[];
  warnDays: number;
  log: FastifyBaseLogger;
}

/**
 * One look at every credential, and at every open credential incident: one whose connector is no
 * longer configured, or no longer has a date, is resolved too. Returns the alerts it submitted.
 */
export async function checkCredentialsOnce(options: CredentialCheckOptions, now: Date = new Date()): Promise<Array<{ connector: string; condition: "Fired" | "Resolved" }>> {
  const prefix = `${SELF_ALERT_ID_PREFIX}${CREDENTIAL_ALERT_PREFIX}`;
  const open = new Map((await openSelfAlertIncidents(options.db, prefix)).map((i) => [i.alertId.slice(prefix.length), new Date(i.firedAt)]));
  const gone = [...open.keys()].filter((connector) => !options.credentials.some((c) => c.connector === connector)).map((connector) => ({ connector, credential: "credential", expiresAt: null }));
  const submitted: Array<{ connector: string; condition: "Fired" | "Resolved" }> = [];
  for (const credential of [...options.credentials, ...gone]) {
    const expiry = credentialExpiry(credential, options.warnDays, now);
    const firedAt = open.get(credential.connector);
    const alert = credentialAlert(expiry, firedAt ? { firedAt } : null, now);
    if (!alert) continue;
    await submitSelfAlert(options.intake, options.routing, alert, now);
    submitted.push({ connector: credential.connector, condition: alert.condition });
    if (alert.condition === "Fired") {
      options.log.warn({ connector: credential.connector, expiresAt: credential.expiresAt }, `credential expiry: the ${credential.credential} of connector ${credential.connector} ${expiry.state === "expired" ? "has expired" : `expires in ${expiry.daysLeft} days`}: incident raised`);
    } else {
      options.log.info({ connector: credential.connector, expiresAt: credential.expiresAt }, `credential expiry: the ${credential.credential} of connector ${credential.connector} ${expiry.state === "unknown" ? "is no longer watched" : "has a new expiry date"}: incident resolved`);
    }
  }
  return submitted;
}

/** Runs whether or not any date is set: a date or a connector removed still resolves its open incident. */
export function startCredentialExpiryCheck(options: CredentialCheckOptions & { holder: string; intervalMs?: number }): Job {
  const intervalMs = options.intervalMs ?? CREDENTIAL_CHECK_MS;
  const log = options.log.child({ component: "credential-expiry" });
  // The first look soon after start: a restart with a new date resolves the incident without waiting an hour.
  return every({ name: "credential expiry check", intervalMs, firstAfterMs: Math.min(intervalMs, 5_000), log }, async () => {
    if (!(await acquireLease(options.db, CREDENTIAL_EXPIRY_LEASE, options.holder, intervalMs * 2))) return;
    await checkCredentialsOnce({ ...options, log });
  });
}
