/**
 * The ledger's writes for a whole batch of changes, set-based: one statement for incidents,
 * timeline, new CIs and deliveries (data-modifying CTEs), and one for the CI links. Statement count,
 * not row count, is what a batch pays for: each costs a parse, a plan and a trip through the
 * server's queue, so a batch of 256 alerts costs what a batch of 1 does, plus its rows.
 */
import { CI_RECORD_COLUMNS, ciRecords, linkConfigurationItems, type IncidentBinding } from "./configuration-items.ts";
import type { Transaction } from "./database.ts";
import { EVENT_RECORD_COLUMNS, eventRecords, INCIDENT_RECORD_COLUMNS, incidentRecord, type StoredIncident } from "./incidents.ts";
import type { IncidentEvent } from "../incidents/lifecycle.ts";
import { DELIVERY_RECORD_COLUMNS, deliveryRecords, type NewDelivery } from "./outbox.ts";

export interface LedgerWrites {
  inserted: readonly StoredIncident[];
  updated: readonly StoredIncident[];
  events: ReadonlyArray<IncidentEvent & { incidentId: string }>;
  bindings: readonly IncidentBinding[];
  deliveries: readonly NewDelivery[];
  /** Updated incidents whose description and problem lines are as stored (store/incidents.ts sameProblemText); none when left out. */
  sameText?: ReadonlySet<string>;
}

/**
 * New incidents are a plain INSERT on purpose: when another replica created the same incident
 * meanwhile, the unique violation fails the whole transaction (nothing acknowledged), and the batch
 * runs again, this time finding and locking theirs. Foreign keys (deliveries → incidents) are
 * checked at the end of the statement, when the sibling CTE's incidents exist.
 *
 * Changed incidents are also named by an id array ($6): the planner takes a JSON recordset for 100
 * rows, and against a table it has no fresh statistics for it would rather read every incident
 * than look 100 up (test/receiver/ledger/batch-plans.test.ts); an array's length it knows.
 *
 * A problem whose text did not change (`keep_text`) keeps its stored lines and description. A
 * replica of the release before migration 013 writes its lines inside `noise`, with a description
 * this release never makes (it had the counts): the next write after it writes both again.
 *
 * An incident's routing is stored as a JSON string holding the document (`to_jsonb` of its text),
 * not as a jsonb object: it is written once, never queried inside SQL, and read back whole, while
 * building a jsonb object of its nested noise decision took PostgreSQL 20–54 µs per alert of a noise rule
 * (docs/performance.md#per-alert-not-per-batch-2026-12-07-night). Rows written before hold the object;
 * store/incidents.ts fromJson reads both, as the release before already did.
 */
const WRITE = `WITH
  new_incidents AS (
    INSERT INTO incidents (id, alert_id, alert_key, state, resolution, severity, title, description, monitoring_service,
      signal_type, family, alert_rule, fired_at, resolved_at, last_at, last_rank, last_key, routing, held_until, hold_window,
      kind, problem_id, group_key, noise, problem_lines, due_at, ticket_generation)
    SELECT id, alert_id, alert_key, state, resolution, severity, title, description, monitoring_service,
      signal_type, family, alert_rule, fired_at, resolved_at, last_at, last_rank, last_key, to_jsonb(routing), held_until, hold_window,
      kind, problem_id, group_key, noise, problem_lines, due_at, ticket_generation
    FROM json_to_recordset($1::json) AS t(${INCIDENT_RECORD_COLUMNS}) ORDER BY alert_key
    RETURNING 1),
  changed_incidents AS (
    UPDATE incidents i SET state = t.state, resolution = t.resolution, severity = t.severity, title = t.title,
      description = CASE WHEN t.keep_text THEN i.description ELSE t.description END, monitoring_service = t.monitoring_service, signal_type = t.signal_type,
      family = t.family, alert_rule = t.alert_rule, fired_at = t.fired_at, resolved_at = t.resolved_at,
      last_at = t.last_at, last_rank = t.last_rank, last_key = t.last_key, held_until = t.held_until, hold_window = t.hold_window,
      problem_id = t.problem_id, noise = t.noise, problem_lines = CASE WHEN t.keep_text THEN i.problem_lines ELSE t.problem_lines END, due_at = t.due_at,
      ticket_generation = t.ticket_generation, updated_at = now()
    FROM json_to_recordset($2::json) AS t(${INCIDENT_RECORD_COLUMNS}) WHERE i.id = ANY($6::uuid[]) AND i.id = t.id
    RETURNING 1),
  new_events AS (
    INSERT INTO incident_events (incident_id, type, at, notification_id, actor, detail)
    SELECT incident_id, type, at, notification_id, actor, detail FROM json_to_recordset($3::json) AS t(${EVENT_RECORD_COLUMNS}) ORDER BY n
    RETURNING 1),
  new_cis AS (
    INSERT INTO configuration_items (ci_key, resource_id, name, bound, subscription_id, resource_group, provider_type)
    SELECT * FROM json_to_recordset($4::json) AS t(${CI_RECORD_COLUMNS}) ORDER BY ci_key
    ON CONFLICT (ci_key) DO NOTHING
    RETURNING 1),
  new_deliveries AS (
    INSERT INTO deliveries (incident_id, connector, action, payload, deadline_at)
    SELECT incident_id, connector, action, payload, now() + make_interval(secs => max_age_seconds)
    FROM json_to_recordset($5::json) AS t(${DELIVERY_RECORD_COLUMNS}) ORDER BY n
    RETURNING 1)
SELECT 1`;

export function writeLedger(tx: Transaction, writes: LedgerWrites): void {
  const { cis, links } = ciRecords(writes.bindings);
  if (writes.inserted.length + writes.updated.length + writes.events.length + cis.length + writes.deliveries.length === 0) return;
  tx.later(
    WRITE,
    [
      JSON.stringify(writes.inserted.map((i) => incidentRecord(i))),
      // An incident's routing never changes after it was created (the UPDATE leaves it): not sent again.
      JSON.stringify(writes.updated.map((i) => ({ ...incidentRecord(i, writes.sameText?.has(i.id) ?? false), routing: null }))),
      JSON.stringify(eventRecords(writes.events)),
      JSON.stringify(cis),
      JSON.stringify(deliveryRecords(writes.deliveries)),
      writes.updated.map((i) => i.id),
    ],
    { name: "ledger-write" },
  );
  linkConfigurationItems(tx, links);
}
