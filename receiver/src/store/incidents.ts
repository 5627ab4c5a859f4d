/**
 * Persistence of the incident ledger; the decisions are incidents/lifecycle.ts's. Writes are
 * set-based: one statement per kind of row for a whole batch, whatever its size.
 */
import type { Incident, IncidentEvent } from "../incidents/lifecycle.ts";
import type { AlertNoise, ProblemState } from "../incidents/noise.ts";
import type { RoutingExplanation } from "../routing/explain.ts";
import type { Queryable } from "./database.ts";
import { alertKey } from "./keys.ts";

/** A maintenance window's hold on an incident's deliveries. */
export interface Hold {
  window: string;
  /** ISO 8601 UTC: the deliveries are released then. */
  until: string;
}

export type IncidentKind = "alert" | "group" | "storm";

export interface StoredIncident extends Incident {
  id: string;
  /** Where the routing rules sent it when it was created, and why; null when created before there were any. */
  routing: RoutingExplanation | null;
  /** A maintenance window's hold (noise holds are in `noise`). */
  hold: Hold | null;
  /** Which of the incident's tickets its deliveries are about (outbox/delivery.ts: correlationKey). */
  ticketGeneration: number;
  /** An alert (one per Azure alertId), or a problem: a group of alerts, or a storm guard's storm incident (docs/noise.md). */
  kind: IncidentKind;
  /** The problem whose ticket tells this alert's changes, or null. */
  problemId: string | null;
  /** A problem's identity (one open problem per key), or null. */
  groupKey: string | null;
  /** An alert's noise state (incidents/noise.ts); null when there is nothing to remember. */
  noise: AlertNoise | null;
  /** A problem's state; null for an alert. */
  problem: ProblemState | null;
  /** When the noise timer must look at it next. */
  dueAt: string | null;
}

/** An alert as the store keeps it before noise control existed, or when nothing of it applies. */
export const PLAIN = { kind: "alert", problemId: null, groupKey: null, noise: null, problem: null, dueAt: null } as const;

export interface IncidentRow {
  id: string;
  alert_id: string;
  state: Incident["state"];
  resolution: Incident["resolution"];
  severity: Incident["severity"];
  title: string;
  description: string | null;
  monitoring_service: string;
  signal_type: string | null;
  family: Incident["family"];
  alert_rule: string | null;
  fired_at: string;
  resolved_at: string | null;
  last_at: string;
  last_rank: number;
  last_key: string;
  routing: unknown;
  held_until: string | null;
  hold_window: string | null;
  ticket_generation: number;
  kind: IncidentKind;
  problem_id: string | null;
  group_key: string | null;
  noise: unknown;
  problem_lines: unknown;
  due_at: string | null;
}

/** The columns of an incident's row that hold its long text: a problem's are 8–10 kB in a storm (store/problem-texts.ts). */
export type LongTextColumn = "routing" | "description" | "problem_lines";

/** The incident columns as IncidentRow names them, with other expressions for the long ones (aliased to their names). */
export function incidentColumns(long: Record<LongTextColumn, string> = { routing: "routing", description: "description", problem_lines: "problem_lines" }): string {
  return `id::text AS id, alert_id, state, resolution, severity, title, ${long.description} AS description, monitoring_service,
  signal_type, family, alert_rule, to_json(fired_at)#>>'{}' AS fired_at, to_json(resolved_at)#>>'{}' AS resolved_at, last_at, last_rank, last_key,
  ${long.routing} AS routing, to_json(held_until)#>>'{}' AS held_until, hold_window, kind, problem_id::text AS problem_id, group_key, noise, ${long.problem_lines} AS problem_lines,
  to_json(due_at)#>>'{}' AS due_at, ticket_generation`;
}

export const INCIDENT_COLUMNS = incidentColumns();

/** Timestamps as the API shows them: ISO 8601 in UTC (the sessions run in UTC, see the drivers). */
export function isoTime(value: string): string;
export function isoTime(value: string | null): string | null;
export function isoTime(value: string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

/**
 * A jsonb column's value as the receiver uses it. `routing` holds its document as a JSON string
 * since 2026-12-07 (store/ledger-writes.ts) and as the object before: both read the same.
 */
export const fromJson = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value);

export function incidentFromRow(row: IncidentRow): StoredIncident {
  // An alert's noise state carries its maintenance hold too: held_until is when every hold has ended.
  const stored = fromJson(row.noise) as (AlertNoise & { maintenance?: Hold | null }) | ProblemState | null;
  const alertNoise = row.kind === "alert" && stored ? (stored as AlertNoise & { maintenance?: Hold | null }) : null;
  const { maintenance, ...noise } = alertNoise ?? { maintenance: undefined };
  const legacyHold = row.held_until && row.hold_window ? { window: row.hold_window, until: isoTime(row.held_until) } : null;
  return {
    id: row.id,
    alertId: row.alert_id,
    state: row.state,
    resolution: row.resolution,
    severity: row.severity,
    title: row.title,
    description: row.description,
    monitoringService: row.monitoring_service,
    signalType: row.signal_type,
    family: row.family,
    alertRule: row.alert_rule,
    firedAt: isoTime(row.fired_at),
    resolvedAt: isoTime(row.resolved_at),
    last: { at: row.last_at, rank: row.last_rank as 0 | 1, key: row.last_key },
    routing: fromJson(row.routing) as RoutingExplanation | null,
    hold: alertNoise ? (maintenance ?? null) : legacyHold,
    kind: row.kind,
    problemId: row.problem_id,
    groupKey: row.group_key,
    noise: alertNoise ? (noise as AlertNoise) : null,
    problem: row.kind === "alert" || !stored ? null : problemState(stored as ProblemState, fromJson(row.problem_lines) as ProblemLines | null),
    dueAt: isoTime(row.due_at),
    ticketGeneration: row.ticket_generation ?? 1,
  };
}

/** When every hold on an incident's deliveries ends (a maintenance window's, a silence's, a transient hold), or null. */
export function deliveriesHeldUntil(incident: Pick<StoredIncident, "hold" | "noise">): string | null {
  const ends = [...(incident.hold ? [incident.hold.until] : []), ...(incident.noise?.holds ?? []).map((h) => h.until)].map((t) => Date.parse(t));
  return ends.length === 0 ? null : new Date(Math.max(...ends)).toISOString();
}

/**
 * Locks the incidents of these alerts for the rest of the transaction, in one global order
 * (alert key), so concurrent batches on several replicas never deadlock on each other.
 */
export async function lockIncidentsByAlertId(tx: Queryable, alertIds: readonly string[]): Promise<StoredIncident[]> {
  if (alertIds.length === 0) return [];
  const keys = [...new Set(alertIds.map(alertKey))].sort();
  const { rows } = await tx.query<IncidentRow>(
    `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE alert_key = ANY($1::text[]) ORDER BY alert_key FOR UPDATE`,
    [keys],
    { name: "ledger-lock-incidents" },
  );
  return rows.map(incidentFromRow);
}

export async function lockIncidentById(tx: Queryable, id: string): Promise<StoredIncident | null> {
  const { rows } = await tx.query<IncidentRow>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = $1::uuid FOR UPDATE`, [id]);
  return rows[0] ? incidentFromRow(rows[0]) : null;
}

/** Incidents whose maintenance hold has ended, locked; others' locks are skipped (several replicas release). */
export async function lockReleasableIncidents(tx: Queryable, now: string, limit: number): Promise<StoredIncident[]> {
  const { rows } = await tx.query<IncidentRow>(
    `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE held_until <= $1::timestamptz ORDER BY held_until, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [now, limit],
  );
  return rows.map(incidentFromRow);
}

/** Open incidents of a family whose last change is at or before `cutoff`, locked; others' locks are skipped. */
export async function lockQuietIncidents(tx: Queryable, family: string, cutoff: string, limit: number): Promise<StoredIncident[]> {
  const { rows } = await tx.query<IncidentRow>(
    `SELECT ${INCIDENT_COLUMNS} FROM incidents
     WHERE state = 'open' AND family = $1 AND kind = 'alert' AND last_at::timestamptz <= $2::timestamptz
     ORDER BY fired_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
    [family, cutoff, limit],
  );
  return rows.map(incidentFromRow);
}

/** What of a problem's state has a column of its own (migration 013): rewritten only when it changes. */
export type ProblemLines = Pick<ProblemState, "shown" | "pending">;

/**
 * `noise` keeps empty lists where the lines were: a replica of the release before migration 013
 * (a rolling upgrade runs both for a while) reads a state it understands, and when it writes one,
 * its lines are there, the latest (a problem lists its first member from its first join on).
 */
const NO_LINES: ProblemLines = { shown: [], pending: [] };

export function problemParts(problem: ProblemState): { noise: ProblemState; lines: ProblemLines } {
  const { shown, pending } = problem;
  return { noise: { ...problem, ...NO_LINES }, lines: { shown, pending } };
}

function problemState(stored: ProblemState, lines: ProblemLines | null): ProblemState {
  return stored.shown.length > 0 || !lines ? stored : { ...stored, ...lines };
}

/** Whether a problem's listed members, pending lines and description are what `stored` holds: then its text is not written again. */
export function sameProblemText(stored: StoredIncident, now: StoredIncident): boolean {
  if (!stored.problem || !now.problem || stored.description !== now.description) return false;
  const [a, b] = [stored.problem, now.problem];
  return (
    a.pending.length === b.pending.length &&
    a.pending.every((line, n) => line === b.pending[n]) &&
    a.shown.length === b.shown.length &&
    a.shown.every((m, n) => m.incidentId === b.shown[n]!.incidentId && m.state === b.shown[n]!.state && m.title === b.shown[n]!.title && m.alertId === b.shown[n]!.alertId)
  );
}

/**
 * An incident as one row of the set-based writes (store/ledger-writes.ts). `keepText`: its
 * description and a problem's lines are as stored; they are left out, and the UPDATE keeps them.
 */
export function incidentRecord(i: StoredIncident, keepText = false) {
  const parts = i.problem ? problemParts(i.problem) : null;
  return {
    id: i.id,
    alert_id: i.alertId,
    alert_key: alertKey(i.alertId),
    state: i.state,
    resolution: i.resolution,
    severity: i.severity,
    title: i.title,
    description: keepText ? null : i.description,
    monitoring_service: i.monitoringService,
    signal_type: i.signalType,
    family: i.family,
    alert_rule: i.alertRule,
    fired_at: i.firedAt,
    resolved_at: i.resolvedAt,
    last_at: i.last.at,
    last_rank: i.last.rank,
    last_key: i.last.key,
    routing: i.routing,
    held_until: deliveriesHeldUntil(i),
    hold_window: i.hold?.window ?? null,
    kind: i.kind,
    problem_id: i.problemId,
    group_key: i.groupKey,
    noise: i.kind === "alert" ? (i.noise ? { ...i.noise, maintenance: i.hold } : null) : (parts?.noise ?? null),
    problem_lines: keepText ? null : (parts?.lines ?? null),
    keep_text: keepText,
    due_at: i.dueAt,
    ticket_generation: i.ticketGeneration,
  };
}

/**
 * The columns of incidentRecord, for json_to_recordset. `routing` arrives as the JSON text of the
 * document, which the write stores as a JSON string (store/ledger-writes.ts).
 */
export const INCIDENT_RECORD_COLUMNS = `id uuid, alert_id text, alert_key text, state text, resolution text, severity text, title text,
  description text, monitoring_service text, signal_type text, family text, alert_rule text, fired_at timestamptz,
  resolved_at timestamptz, last_at text, last_rank smallint, last_key text, routing text, held_until timestamptz, hold_window text,
  kind text, problem_id uuid, group_key text, noise jsonb, problem_lines jsonb, keep_text boolean, due_at timestamptz, ticket_generation integer`;

/** Timeline events as rows of the set-based writes; `n` keeps their order, which is the timeline's. */
export function eventRecords(events: ReadonlyArray<IncidentEvent & { incidentId: string }>) {
  return events.map((e, n) => ({ n, incident_id: e.incidentId, type: e.type, at: e.at, notification_id: e.notificationId, actor: e.actor, detail: e.detail }));
}

export const EVENT_RECORD_COLUMNS = "n int, incident_id uuid, type text, at timestamptz, notification_id bigint, actor text, detail jsonb";
