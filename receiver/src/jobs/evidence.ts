/**
 * Log evidence (docs/incidents.md#log-evidence), off the intake's path: every half second each
 * replica claims new log alerts' fetches in the store (one replica, once per incident), fetches
 * their rows from the link in the payload (azure/log-analytics.ts refuses any other host), and
 * records the outcome on the incident and its tickets. A failure is recorded, never retried: the
 * ticket is created without rows after EVIDENCE_WAIT either way.
 */
import type { FastifyBaseLogger } from "fastify";
import type { LogAnalyticsClient } from "../azure/log-analytics.ts";
import { evidenceLink, linkHost, type EvidenceOutcome } from "../incidents/evidence.ts";
import type { Metrics } from "../metrics.ts";
import type { Database } from "../store/database.ts";
import { claimEvidence, firstPayload, recordEvidence, type EvidenceClaim } from "../store/evidence.ts";
import { every, type Job } from "./every.ts";

const INTERVAL_MS = 500;
/** Fetches at once per replica: each is at most a few 10 s attempts, and the API allows 200 per 30 s. */
const BATCH = 8;
/** Far longer than a fetch can take (3 attempts of 10 s, 2 back-offs of at most 30 s, a wait for the window): a claim older than this was a crashed replica's. */
const CLAIM_MS = 5 * 60_000;

export interface EvidenceJobOptions {
  db: Database;
  client: LogAnalyticsClient;
  targets: { connectors: readonly string[]; maxAgeMs: number };
  metrics: Metrics;
  log: FastifyBaseLogger;
  intervalMs?: number;
}

export async function fetchEvidence(options: EvidenceJobOptions, claim: EvidenceClaim): Promise<EvidenceOutcome> {
  const raw = await firstPayload(options.db, claim.incidentId);
  let payload: unknown = null;
  try {
    payload = raw ? JSON.parse(raw) : null;
  } catch {
    payload = null;
  }
  const link = evidenceLink(payload);
  const outcome: EvidenceOutcome = link ? await options.client.evidence(link) : { state: "none", reason: "the payload has no linkToSearchResultsAPI" };
  const host = link ? linkHost(link) : null;
  const given = await options.db.transaction((tx) => recordEvidence(tx, claim, outcome, host, options.targets));
  options.metrics.evidence.inc({ outcome: outcome.state });
  const log = options.log.child({ incidentId: claim.incidentId, alertId: claim.alertId });
  if (outcome.state === "stored") log.info({ rows: outcome.table.rows.length, truncated: outcome.table.truncated, ...given }, "log evidence stored");
  else if (outcome.state === "refused") log.warn({ host }, `log evidence refused: ${outcome.reason}`);
  else if (outcome.state === "failed") log.warn({ host }, `log evidence failed: ${outcome.reason}`);
  return outcome;
}

export function startEvidenceJob(options: EvidenceJobOptions): Job {
  return every({ name: "log evidence", intervalMs: options.intervalMs ?? INTERVAL_MS, log: options.log }, async () => {
    const claims = await claimEvidence(options.db, BATCH, CLAIM_MS);
    await Promise.all(
      claims.map((claim) =>
        // One incident's failure (the store went away mid-way) leaves its claim to expire and be taken again.
        fetchEvidence(options, claim).catch((error: unknown) => options.log.warn({ err: error, incidentId: claim.incidentId }, "log evidence could not be recorded")),
      ),
    );
  });
}
