/**
 * The outbox tables. Jobs are claimed with a lease under FOR UPDATE SKIP LOCKED, so several
 * workers (and replicas) never hold one job at once, and a job waits while an earlier job of
 * the same incident and connector is undelivered: a resolve never overtakes its create.
 */
import type { DeliveryAction, DeliveryJob, ExternalLink, IncidentSnapshot } from "../outbox/delivery.ts";
import type { IncidentEventType } from "../incidents/lifecycle.ts";
import type { Database, Queryable } from "./database.ts";
import { LOG_ALERTS_V2 } from "./evidence.ts";

const LEASE = "5 minutes";

export interface NewDelivery {
  incidentId: string;
  connector: string;
  action: DeliveryAction;
  snapshot: IncidentSnapshot;
  maxAgeMs: number;
}

/** Deliveries as rows of the set-based writes (store/ledger-writes.ts); `n` keeps their order. */
export function deliveryRecords(deliveries: readonly NewDelivery[]) {
  return deliveries.map((d, n) => ({ n, incident_id: d.incidentId, connector: d.connector, action: d.action, payload: d.snapshot, max_age_seconds: d.maxAgeMs / 1000 }));
}

export const DELIVERY_RECORD_COLUMNS = "n int, incident_id uuid, connector text, action text, payload jsonb, max_age_seconds double precision";

interface JobRow {
  id: string;
  incident_id: string;
  connector: string;
  action: DeliveryAction;
  attempts: number;
  payload: unknown;
}

/**
 * The claim must walk `deliveries_due` in order and stop at the first free job. The planner picks
 * that plan only when it knows how many jobs are due, and during a burst (a storm, a tool down)
 * the table outgrows its statistics within seconds (autovacuum analyzes about once a minute):
 * it then reads every due job and sorts them, for each claim — 15 ms at 8,000 due jobs against
 * 0.2 ms (docs/performance.md), so a backlog slowed the very worker that drains it. Set for the
 * claim's transaction only; these settings price the other plans out, they forbid nothing.
 *
 * The outbox's own bookkeeping — a claim's lease, a failed attempt — commits without waiting for
 * the disk: a crash may forget it, and then the job is simply tried again, which is what a crash
 * between the tool's answer and any commit already means (connectors find a ticket they made by its
 * correlation key). Every acknowledged alert's commit still waits, and it also flushes whatever
 * bookkeeping came before it. On the embedded store this is one fsync fewer per claim and per
 * failure in the intake's one thread (docs/performance.md#the-outbox-under-a-backlog).
 *
 * Both travel with the transaction's BEGIN, and each step of a job (claim, failure, completion) is
 * one statement: three round trips a step, where a storm's backlog is thousands of steps.
 */
const BOOKKEEPING = { synchronous_commit: "off" } as const;
const CLAIM_SETTINGS = { enable_seqscan: "off", enable_bitmapscan: "off", enable_sort: "off", ...BOOKKEEPING } as const;

/** The next due job, leased, with the ticket its incident already has in that tool (if any). */
export const CLAIM = `WITH next AS (
       SELECT d.id FROM deliveries d
       WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until < now())
         AND d.connector = ANY($1::text[])
         AND NOT EXISTS (SELECT 1 FROM deliveries e
                         WHERE e.incident_id = d.incident_id AND e.connector = d.connector AND e.id < d.id AND e.status <> 'delivered')
         AND NOT ($2::double precision > 0 AND d.action = 'open' AND d.payload->>'monitoringService' = '${LOG_ALERTS_V2}'
                  AND d.created_at > now() - make_interval(secs => $2::double precision)
                  AND NOT EXISTS (SELECT 1 FROM incident_evidence v WHERE v.incident_id = d.incident_id AND v.state <> 'fetching'))
       ORDER BY d.next_attempt_at, d.id
       LIMIT 1
       FOR UPDATE SKIP LOCKED),
     claimed AS (
       UPDATE deliveries d SET leased_until = now() + interval '${LEASE}', attempts = d.attempts + 1, updated_at = now()
       WHERE d.id = (SELECT id FROM next)
       RETURNING d.id, d.incident_id, d.connector, d.action, d.attempts, d.payload)
     SELECT c.id::text AS id, c.incident_id::text AS incident_id, c.connector, c.action, c.attempts, c.payload, l.external_id, l.external_number
     FROM claimed c LEFT JOIN connector_links l ON l.incident_id = c.incident_id AND l.connector = c.connector`;

interface ClaimedRow extends JobRow {
  external_id: string | null;
  external_number: string | null;
}

/**
 * Claims the next due job in a transaction of its own (the plan settings above last until its
 * end). With `evidenceWaitMs` (EVIDENCE_WAIT), a log alert's ticket waits up to that long after
 * intake while its rows are being fetched (docs/incidents.md#log-evidence), so they can go into its
 * description.
 */
export async function claimDelivery(db: Database, connectors: readonly string[], evidenceWaitMs = 0): Promise<DeliveryJob | null> {
  // Named, so planned once per connection: with the settings in force when it is planned, the walk of
  // `deliveries_due` is its only plan without a sort, so even a plan kept from a start with nothing due
  // walks the backlog in order (test/receiver/store/outbox.test.ts).
  const { rows } = await db.transaction((tx) => tx.query<ClaimedRow>(CLAIM, [connectors, evidenceWaitMs / 1000], { name: "outbox-claim" }), { settings: CLAIM_SETTINGS });
  const row = rows[0];
  if (!row) return null;
  return {
    id: row.id,
    incidentId: row.incident_id,
    connector: row.connector,
    action: row.action,
    attempts: row.attempts,
    snapshot: (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as IncidentSnapshot,
    // An `open` finds or creates the ticket of its snapshot's correlation key: a link it meets is an
    // earlier ticket of the incident (a person closed it, and the alert fired again under the `new` policy).
    link: row.external_id !== null && row.action !== "open" ? { externalId: row.external_id, externalNumber: row.external_number } : null,
  };
}

/** What each delivered action is called in the incident's timeline. */
const DELIVERED_EVENT: Record<DeliveryJob["action"], IncidentEventType> = {
  open: "ticket_created",
  reopen: "ticket_reopened",
  resolve: "ticket_resolved",
  acknowledge: "ticket_acknowledged",
  comment: "ticket_commented",
  update: "ticket_updated",
};

/** The detail of an ITSM step in the incident's timeline. */
const stepDetail = (job: DeliveryJob, detail: Record<string, unknown>) => JSON.stringify({ connector: job.connector, action: job.action, ...detail });

/** Marks a job delivered, writes its timeline step and keeps the ticket's link: one statement. */
export async function completeDelivery(db: Database, job: DeliveryJob, link: ExternalLink | null): Promise<void> {
  const ticket = link ?? job.link;
  const detail = stepDetail(job, {
    ticket: ticket?.externalNumber ?? ticket?.externalId ?? null,
    ...(ticket && ticket.externalId !== ticket.externalNumber ? { externalId: ticket.externalId } : {}),
    attempts: job.attempts,
  });
  await db.transaction((tx) =>
    tx.query(
      `WITH delivered AS (
         UPDATE deliveries SET status = 'delivered', delivered_at = now(), leased_until = NULL, last_error = NULL, updated_at = now() WHERE id = $1
         RETURNING 1),
       step AS (
         INSERT INTO incident_events (incident_id, type, at, detail) VALUES ($2::uuid, $3, now(), $4::jsonb)
         RETURNING 1),
       link AS (
         INSERT INTO connector_links (incident_id, connector, external_id, external_number)
         SELECT $2::uuid, $5, $6, $7 WHERE $6::text IS NOT NULL
         ON CONFLICT (incident_id, connector) DO UPDATE SET external_id = EXCLUDED.external_id, external_number = EXCLUDED.external_number, updated_at = now()
         RETURNING 1)
       SELECT 1`,
      [job.id, job.incidentId, DELIVERED_EVENT[job.action], detail, job.connector, link?.externalId ?? null, link?.externalNumber ?? null],
      { name: "outbox-delivered" },
    ),
  );
}

/**
 * Records a failed attempt: retried at `retryAt`, or dead-lettered when that is past the deadline (or
 * `dead`). The timeline gets the dead letter, and a failure when its cause is new: a tool down for a
 * day is one line, not one per retry.
 */
export async function failDelivery(db: Database, job: DeliveryJob, error: string, retryAt: Date | null): Promise<"retry" | "dead"> {
  const lastError = error.slice(0, 2000);
  const failed = stepDetail(job, { attempts: job.attempts, error: lastError, retryAt: retryAt?.toISOString() ?? null });
  const dead = stepDetail(job, { attempts: job.attempts, error: lastError });
  const { rows } = await db.transaction(
    (tx) =>
      tx.query<{ status: "pending" | "dead" }>(
        `WITH before AS (SELECT last_error FROM deliveries WHERE id = $1),
         failed AS (
           UPDATE deliveries d SET
             status = CASE WHEN $3::timestamptz IS NULL OR $3::timestamptz > d.deadline_at THEN 'dead' ELSE 'pending' END,
             next_attempt_at = COALESCE($3::timestamptz, d.next_attempt_at),
             leased_until = NULL, last_error = $2, updated_at = now()
           WHERE d.id = $1 RETURNING d.status),
         step AS (
           INSERT INTO incident_events (incident_id, type, at, detail)
           SELECT $4::uuid, CASE WHEN f.status = 'dead' THEN 'delivery_dead' ELSE 'delivery_failed' END, now(),
                  CASE WHEN f.status = 'dead' THEN $6::jsonb ELSE $5::jsonb END
           FROM failed f, before b WHERE f.status = 'dead' OR b.last_error IS DISTINCT FROM $2
           RETURNING 1)
         SELECT status FROM failed`,
        [job.id, lastError, retryAt?.toISOString() ?? null, job.incidentId, failed, dead],
        { name: "outbox-failed" },
      ),
    { settings: BOOKKEEPING },
  );
  return rows[0]?.status === "dead" ? "dead" : "retry";
}

/** Replays a dead-lettered delivery with a fresh deadline; false when it is not dead. */
export async function retryDelivery(tx: Queryable, id: string, maxAgeMs: number): Promise<boolean> {
  const { rows } = await tx.query(
    `UPDATE deliveries SET status = 'pending', next_attempt_at = now(), leased_until = NULL,
       deadline_at = now() + make_interval(secs => $2), updated_at = now()
     WHERE id = $1 AND status = 'dead' RETURNING id`,
    [id, maxAgeMs / 1000],
  );
  return rows.length > 0;
}

