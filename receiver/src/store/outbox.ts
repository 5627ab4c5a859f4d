/**
 * The outbox tables. Jobs are claimed with a lease under FOR UPDATE SKIP LOCKED, so several
 * workers (and replicas) never hold one job at once, and a job waits while an earlier job of
 * the same incident and connector is undelivered: a resolve never overtakes its create.
 */
import type { DeliveryAction, DeliveryJob, ExternalLink, IncidentSnapshot } from "../outbox/delivery.ts";
import type { IncidentEventType } from "../incidents/lifecycle.ts";
import type { Queryable } from "./database.ts";
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
 */
const PLAN_SETTINGS = ["enable_seqscan", "enable_bitmapscan", "enable_sort"].map((name) => `set_config('${name}', 'off', true)`);

/**
 * The outbox's own bookkeeping — a claim's lease, a failed attempt — commits without waiting for
 * the disk: a crash may forget it, and then the job is simply tried again, which is what a crash
 * between the tool's answer and any commit already means (connectors find a ticket they made by its
 * correlation key). Every acknowledged alert's commit still waits, and it also flushes whatever
 * bookkeeping came before it. On the embedded store this is one fsync fewer per claim and per
 * failure in the intake's one thread (docs/performance.md#the-outbox-under-a-backlog).
 */
const ASYNC_COMMIT = "set_config('synchronous_commit', 'off', true)";
const BOOKKEEPING_COMMIT = `SELECT ${ASYNC_COMMIT}`;
const CLAIM_SETTINGS = `SELECT ${[...PLAN_SETTINGS, ASYNC_COMMIT].join(", ")}`;

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
       FOR UPDATE SKIP LOCKED)
     UPDATE deliveries d SET leased_until = now() + interval '${LEASE}', attempts = d.attempts + 1, updated_at = now()
     WHERE d.id = (SELECT id FROM next)
     RETURNING d.id::text AS id, d.incident_id::text AS incident_id, d.connector, d.action, d.attempts, d.payload`;

/**
 * Claims the next due job, in the caller's transaction (the plan settings last until its end). With
 * `evidenceWaitMs` (EVIDENCE_WAIT), a log alert's ticket waits up to that long after intake while
 * its rows are being fetched (docs/incidents.md#log-evidence), so they can go into its description.
 */
export async function claimDelivery(tx: Queryable, connectors: readonly string[], evidenceWaitMs = 0): Promise<DeliveryJob | null> {
  await tx.query(CLAIM_SETTINGS, [], { name: "outbox-claim-settings" });
  // Unnamed on purpose: planned for each claim with the settings above, which is what keeps it walking the index.
  const { rows } = await tx.query<JobRow>(CLAIM, [connectors, evidenceWaitMs / 1000]);
  const row = rows[0];
  if (!row) return null;
  const link = await tx.query<{ external_id: string; external_number: string | null }>(
    "SELECT external_id, external_number FROM connector_links WHERE incident_id = $1::uuid AND connector = $2",
    [row.incident_id, row.connector],
    { name: "outbox-link" },
  );
  const found = link.rows[0];
  return {
    id: row.id,
    incidentId: row.incident_id,
    connector: row.connector,
    action: row.action,
    attempts: row.attempts,
    snapshot: (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as IncidentSnapshot,
    // An `open` finds or creates the ticket of its snapshot's correlation key: a link it meets is an
    // earlier ticket of the incident (a person closed it, and the alert fired again under the `new` policy).
    link: found && row.action !== "open" ? { externalId: found.external_id, externalNumber: found.external_number } : null,
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

/** An ITSM step in the incident's timeline, written with the outcome it records. */
async function timelineStep(tx: Queryable, job: DeliveryJob, type: IncidentEventType, detail: Record<string, unknown>): Promise<void> {
  await tx.query(
    "INSERT INTO incident_events (incident_id, type, at, detail) VALUES ($1::uuid, $2, now(), $3::jsonb)",
    [job.incidentId, type, JSON.stringify({ connector: job.connector, action: job.action, ...detail })],
    { name: "outbox-timeline-step" },
  );
}

export async function completeDelivery(tx: Queryable, job: DeliveryJob, link: ExternalLink | null): Promise<void> {
  await tx.query(
    "UPDATE deliveries SET status = 'delivered', delivered_at = now(), leased_until = NULL, last_error = NULL, updated_at = now() WHERE id = $1",
    [job.id],
    { name: "outbox-delivered" },
  );
  const ticket = link ?? job.link;
  await timelineStep(tx, job, DELIVERED_EVENT[job.action], {
    ticket: ticket?.externalNumber ?? ticket?.externalId ?? null,
    ...(ticket && ticket.externalId !== ticket.externalNumber ? { externalId: ticket.externalId } : {}),
    attempts: job.attempts,
  });
  if (link) {
    await tx.query(
      `INSERT INTO connector_links (incident_id, connector, external_id, external_number) VALUES ($1::uuid, $2, $3, $4)
       ON CONFLICT (incident_id, connector) DO UPDATE SET external_id = EXCLUDED.external_id, external_number = EXCLUDED.external_number, updated_at = now()`,
      [job.incidentId, job.connector, link.externalId, link.externalNumber],
      { name: "outbox-save-link" },
    );
  }
}

/**
 * Records a failed attempt: retried at `retryAt`, or dead-lettered when that is past the deadline (or
 * `dead`). The timeline gets the dead letter, and a failure when its cause is new: a tool down for a
 * day is one line, not one per retry.
 */
export async function failDelivery(tx: Queryable, job: DeliveryJob, error: string, retryAt: Date | null): Promise<"retry" | "dead"> {
  const lastError = error.slice(0, 2000);
  await tx.query(BOOKKEEPING_COMMIT, [], { name: "outbox-bookkeeping-commit" });
  const { rows } = await tx.query<{ status: "pending" | "dead"; previous_error: string | null }>(
    `UPDATE deliveries d SET
       status = CASE WHEN $3::timestamptz IS NULL OR $3::timestamptz > d.deadline_at THEN 'dead' ELSE 'pending' END,
       next_attempt_at = COALESCE($3::timestamptz, d.next_attempt_at),
       leased_until = NULL, last_error = $2, updated_at = now()
     FROM (SELECT last_error FROM deliveries WHERE id = $1) AS before
     WHERE d.id = $1 RETURNING d.status, before.last_error AS previous_error`,
    [job.id, lastError, retryAt?.toISOString() ?? null],
    { name: "outbox-failed" },
  );
  const row = rows[0];
  const outcome = row?.status === "dead" ? "dead" : "retry";
  if (row && outcome === "dead") await timelineStep(tx, job, "delivery_dead", { attempts: job.attempts, error: lastError });
  else if (row && row.previous_error !== lastError) await timelineStep(tx, job, "delivery_failed", { attempts: job.attempts, error: lastError, retryAt: retryAt?.toISOString() ?? null });
  return outcome;
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

