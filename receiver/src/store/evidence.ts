/**
 * Log evidence in the store (docs/incidents.md#log-evidence): claiming a new log alert's fetch (the
 * incident_evidence row: one replica, once), the link in its first notification, and the outcome:
 * on the incident, in its timeline, and on its tickets — in the open delivery's snapshot when the
 * ticket is not created yet, else as one `update` delivery (a work note, a work log).
 */
import type { EvidenceOutcome, EvidenceTable } from "../incidents/evidence.ts";
import type { IncidentSnapshot } from "../outbox/delivery.ts";
import type { Queryable } from "./database.ts";

/** The monitoring service of log search alerts V2 (common alert schema `essentials.monitoringService`). */
export const LOG_ALERTS_V2 = "Log Alerts V2";
/** Incidents older than this when the job first sees them get no evidence: rows found later would not be the alert's. */
const NEWER_THAN = "10 minutes";

export interface EvidenceClaim {
  incidentId: string;
  alertId: string;
}

/**
 * Claims up to `limit` new log alerts' fetches, and those a replica claimed and did not finish within
 * `claimMs`. Two replicas claiming at once: the insert of one of them conflicts and returns nothing.
 */
export async function claimEvidence(db: Queryable, limit: number, claimMs: number): Promise<EvidenceClaim[]> {
  const { rows } = await db.query<{ incident_id: string; alert_id: string }>(
    `WITH fresh AS (
       INSERT INTO incident_evidence (incident_id, state, claimed_until)
       SELECT i.id, 'fetching', now() + make_interval(secs => $2) FROM incidents i
       WHERE i.monitoring_service = $3 AND i.created_at > now() - interval '${NEWER_THAN}'
         AND NOT EXISTS (SELECT 1 FROM incident_evidence e WHERE e.incident_id = i.id)
       ORDER BY i.created_at LIMIT $1
       ON CONFLICT (incident_id) DO NOTHING
       RETURNING incident_id),
     stale AS (
       UPDATE incident_evidence SET claimed_until = now() + make_interval(secs => $2), updated_at = now()
       WHERE incident_id IN (SELECT incident_id FROM incident_evidence WHERE state = 'fetching' AND claimed_until < now() LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING incident_id)
     SELECT c.incident_id::text AS incident_id, i.alert_id FROM (SELECT incident_id FROM fresh UNION SELECT incident_id FROM stale) c JOIN incidents i ON i.id = c.incident_id`,
    [limit, claimMs / 1000, LOG_ALERTS_V2],
  );
  return rows.map((r) => ({ incidentId: r.incident_id, alertId: r.alert_id }));
}

/**
 * The incident's first notification as Azure sent it: the one whose link the ticket is about. Found
 * through the incident's own events (indexed by incident), since notifications have no index by
 * alert id (004-ledger-keys.sql) and a scan of them would grow with the ledger.
 */
export async function firstPayload(db: Queryable, incidentId: string): Promise<string | null> {
  const { rows } = await db.query<{ raw_payload: string }>(
    `SELECT n.raw_payload FROM incident_events e JOIN notifications n ON n.id = e.notification_id
     WHERE e.incident_id = $1::uuid AND e.notification_id IS NOT NULL ORDER BY e.id LIMIT 1`,
    [incidentId],
  );
  return rows[0]?.raw_payload ?? null;
}

const EVENT: Record<Exclude<EvidenceOutcome["state"], "none">, string> = { stored: "evidence_added", refused: "evidence_refused", failed: "evidence_failed" };

/**
 * Records the outcome (in the caller's transaction) and gives stored rows to each connector's ticket.
 * `maxAgeMs` is the outbox's deadline for a queued update.
 */
export async function recordEvidence(
  tx: Queryable,
  claim: EvidenceClaim,
  outcome: EvidenceOutcome,
  linkHost: string | null,
  target: { connectors: readonly string[]; maxAgeMs: number },
): Promise<{ described: number; updates: number }> {
  const table: EvidenceTable | null = outcome.state === "stored" ? outcome.table : null;
  await tx.query(
    "UPDATE incident_evidence SET state = $2, link_host = $3, result = $4::jsonb, reason = $5, claimed_until = NULL, updated_at = now() WHERE incident_id = $1::uuid",
    [claim.incidentId, outcome.state, linkHost, table ? JSON.stringify(table) : null, outcome.state === "stored" ? null : outcome.reason],
  );
  if (outcome.state !== "none") {
    const detail = table ? { rows: table.rows.length, truncated: table.truncated, source: table.source } : { host: linkHost, reason: outcome.state === "stored" ? null : outcome.reason };
    await tx.query("INSERT INTO incident_events (incident_id, type, at, detail) VALUES ($1::uuid, $2, now(), $3::jsonb)", [claim.incidentId, EVENT[outcome.state], JSON.stringify(detail)]);
  }
  if (!table || target.connectors.length === 0) return { described: 0, updates: 0 };
  // Locked: the outbox either claimed an open delivery before this (it is leased: in flight) or skips it until we commit.
  const { rows } = await tx.query<{ id: string; connector: string; status: string; leased: boolean; payload: unknown }>(
    `SELECT id::text AS id, connector, status, COALESCE(leased_until > now(), false) AS leased, payload FROM deliveries
     WHERE incident_id = $1::uuid AND action = 'open' AND connector = ANY($2::text[]) ORDER BY id FOR UPDATE`,
    [claim.incidentId, target.connectors],
  );
  const latest = new Map(rows.map((r) => [r.connector, r]));
  let described = 0;
  let updates = 0;
  for (const open of latest.values()) {
    if (open.status === "dead") continue;
    if (open.status === "pending" && !open.leased) {
      await tx.query("UPDATE deliveries SET payload = jsonb_set(payload, '{evidence}', $2::jsonb), updated_at = now() WHERE id = $1", [open.id, JSON.stringify(table)]);
      described++;
      continue;
    }
    // The ticket exists (or is being created): the rows go in as one update, after the open.
    const snapshot = { ...((typeof open.payload === "string" ? JSON.parse(open.payload) : open.payload) as IncidentSnapshot), note: null, evidence: table };
    await tx.query(
      "INSERT INTO deliveries (incident_id, connector, action, payload, deadline_at) VALUES ($1::uuid, $2, 'update', $3::jsonb, now() + make_interval(secs => $4))",
      [claim.incidentId, open.connector, JSON.stringify(snapshot), target.maxAgeMs / 1000],
    );
    updates++;
  }
  return { described, updates };
}

export interface EvidenceView {
  state: "fetching" | "stored" | "refused" | "failed" | "none";
  host: string | null;
  reason: string | null;
  columns: EvidenceTable["columns"];
  rows: unknown[][];
  truncated: boolean;
  updatedAt: string;
}

/** What an incident's evidence came to, for the API; null for an incident that is no log alert's (or before the job saw it). */
export async function incidentEvidence(db: Queryable, incidentId: string): Promise<EvidenceView | null> {
  const { rows } = await db.query<{ state: EvidenceView["state"]; link_host: string | null; reason: string | null; result: unknown; updated_at: string | Date }>(
    "SELECT state, link_host, reason, result, updated_at FROM incident_evidence WHERE incident_id = $1::uuid",
    [incidentId],
  );
  const row = rows[0];
  if (!row) return null;
  const table = (typeof row.result === "string" ? JSON.parse(row.result) : row.result) as EvidenceTable | null;
  return {
    state: row.state,
    host: row.link_host,
    reason: row.reason,
    columns: table?.columns ?? [],
    rows: table?.rows ?? [],
    truncated: table?.truncated ?? false,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
