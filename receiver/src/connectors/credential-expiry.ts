/**
 * When a credential the receiver holds runs out (docs/operations.md#credential-expiry): the days
 * left, whether that is inside the warning window, and the receiver's own alert
 * (`credential-expiry/<connector>`) that says so. Pure: the caller gives the time; the job
 * (jobs/credential-expiry.ts) submits the alert and the status and metrics show the same numbers.
 */
import type { SelfAlert } from "../alerts/self-alert.ts";

/** One expiring credential: a connector's sign-in (password or OAuth client secret). */
export interface WatchedCredential {
  connector: string;
  /** What the connector signs in with, in words: `password` or `client secret`. */
  credential: string;
  /** ISO instant; null when nobody said (not watched). */
  expiresAt: string | null;
}

export type ExpiryState = "ok" | "warning" | "expired" | "unknown";

export interface CredentialExpiry extends WatchedCredential {
  /** Whole days until it expires, rounded down; negative once expired; null without expiresAt. */
  daysLeft: number | null;
  state: ExpiryState;
}

const DAY_MS = 86_400_000;

/** ok until `warnDays` before expiresAt, warning from then, expired from expiresAt on. */
export function credentialExpiry(credential: WatchedCredential, warnDays: number, now: Date): CredentialExpiry {
  if (credential.expiresAt === null) return { ...credential, daysLeft: null, state: "unknown" };
  const leftMs = Date.parse(credential.expiresAt) - now.getTime();
  const daysLeft = Math.floor(leftMs / DAY_MS);
  const state: ExpiryState = leftMs <= 0 ? "expired" : leftMs <= warnDays * DAY_MS ? "warning" : "ok";
  return { ...credential, daysLeft, state };
}

/** The credential each connector signs in with, and its declared expiry (`credentialExpiresAt`). */
export function watchedCredentials(connectors: ReadonlyArray<{ name: string; config: { auth: { type: "basic" | "oauth" }; credentialExpiresAt?: string | undefined } }>): WatchedCredential[] {
  return connectors.map((c) => ({ connector: c.name, credential: c.config.auth.type === "oauth" ? "client secret" : "password", expiresAt: c.config.credentialExpiresAt ?? null }));
}

export const CREDENTIAL_ALERT_PREFIX = "credential-expiry/";
export const credentialAlertKey = (connector: string) => `${CREDENTIAL_ALERT_PREFIX}${connector}`;

/**
 * The alert for a credential inside the window (Fired), or that left it because a later expiry was
 * configured, or is no longer watched (its date or its connector removed): Resolved, with the
 * Fired's time. Null when nothing is to be said.
 */
export function credentialAlert(expiry: CredentialExpiry, open: { firedAt: Date } | null, now: Date): SelfAlert | null {
  const key = credentialAlertKey(expiry.connector);
  const rule = "secure-export credential expiry";
  if (expiry.state === "warning" || expiry.state === "expired") {
    if (open) return null;
    const when = expiry.state === "expired" ? `expired on ${expiry.expiresAt!.slice(0, 10)}` : `expires on ${expiry.expiresAt!.slice(0, 10)}, in ${expiry.daysLeft} days`;
    return {
      key,
      condition: "Fired",
      rule,
      severity: expiry.state === "expired" ? "Sev1" : "Sev2",
      description: `secure-export: the ${expiry.credential} of connector ${expiry.connector} ${when}; renew it and set the new date in the connector's credentialExpiresAt`,
      firedAt: now,
      properties: { connector: expiry.connector, credential: expiry.credential, expiresAt: expiry.expiresAt! },
    };
  }
  if (!open) return null;
  const watched = expiry.state === "ok";
  return {
    key,
    condition: "Resolved",
    rule,
    severity: "Sev2",
    description: watched
      ? `secure-export: the ${expiry.credential} of connector ${expiry.connector} now expires on ${expiry.expiresAt!.slice(0, 10)}, in ${expiry.daysLeft} days`
      : `secure-export: the ${expiry.credential} of connector ${expiry.connector} is no longer watched (no credentialExpiresAt, or no such connector)`,
    firedAt: open.firedAt,
    resolvedAt: now,
    properties: { connector: expiry.connector, credential: expiry.credential, ...(watched ? { expiresAt: expiry.expiresAt! } : {}) },
  };
}
