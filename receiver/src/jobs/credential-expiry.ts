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
import { credentialAlert, credentialAlertKey, credentialExpiry, type WatchedCredential } from "../connectors/credential-expiry.ts";
import { submitSelfAlert, type SelfAlertIntake } from "../ledger/self-alerts.ts";
import type { RoutingRules } from "../routing/load-rules.ts";
import type { Database } from "../store/database.ts";
import { acquireLease } from "../store/leases.ts";
import { listIncidents } from "../store/ledger-queries.ts";
import { every, type Job } from "./every.ts";

export const CREDENTIAL_EXPIRY_LEASE = "credential-expiry";
/** Days count down slowly: an hour late is soon enough, and costs one query per connector. */
export const CREDENTIAL_CHECK_MS = 3_600_000;

export interface CredentialCheckOptions {
  db: Database;
  intake: SelfAlertIntake;
  routing: RoutingRules;
  credentials: readonly WatchedCredential[];
  warnDays: number;
  log: FastifyBaseLogger;
}

/** One look at every credential; returns the alerts it submitted ("Fired"/"Resolved" per connector). */
export async function checkCredentialsOnce(options: CredentialCheckOptions, now: Date = new Date()): Promise<Array<{ connector: string; condition: "Fired" | "Resolved" }>> {
  const submitted: Array<{ connector: string; condition: "Fired" | "Resolved" }> = [];
  for (const credential of options.credentials) {
    const expiry = credentialExpiry(credential, options.warnDays, now);
    if (expiry.state === "unknown") continue;
    const [open] = await listIncidents(options.db, { alertId: `${SELF_ALERT_ID_PREFIX}${credentialAlertKey(credential.connector)}`, state: "open", limit: 1 });
    const alert = credentialAlert(expiry, open ? { firedAt: new Date(open.firedAt) } : null, now);
    if (!alert) continue;
    await submitSelfAlert(options.intake, options.routing, alert, now);
    submitted.push({ connector: credential.connector, condition: alert.condition });
    const line = `credential expiry: the ${credential.credential} of connector ${credential.connector} ${alert.condition === "Fired" ? `${expiry.state === "expired" ? "has expired" : `expires in ${expiry.daysLeft} days`}: incident raised` : "has a new expiry date: incident resolved"}`;
    if (alert.condition === "Fired") options.log.warn({ connector: credential.connector, expiresAt: credential.expiresAt }, line);
    else options.log.info({ connector: credential.connector, expiresAt: credential.expiresAt }, line);
  }
  return submitted;
}

/** Null when no connector declares an expiry: nothing to watch. */
export function startCredentialExpiryCheck(options: CredentialCheckOptions & { holder: string; intervalMs?: number }): Job | null {
  if (!options.credentials.some((c) => c.expiresAt !== null)) return null;
  const intervalMs = options.intervalMs ?? CREDENTIAL_CHECK_MS;
  const log = options.log.child({ component: "credential-expiry" });
  // The first look soon after start: a restart with a new date resolves the incident without waiting an hour.
  return every({ name: "credential expiry check", intervalMs, firstAfterMs: Math.min(intervalMs, 5_000), log }, async () => {
    if (!(await acquireLease(options.db, CREDENTIAL_EXPIRY_LEASE, options.holder, intervalMs * 2))) return;
    await checkCredentialsOnce({ ...options, log });
  });
}
