/**
 * Noise control's rows (docs/noise.md): problems (group and storm incidents, in `incidents`), storm
 * counters and silences. Locks follow one global order, whoever takes them — alert incidents (by
 * alert key), then groups (by key), then storm counters (by storm and connector), then storm
 * incidents — so concurrent batches and timers on several replicas never deadlock.
 */
import type { StormCounter } from "../incidents/noise.ts";
import type { MatchSpec } from "../routing/match.ts";
import type { Queryable, Transaction } from "./database.ts";
import { INCIDENT_COLUMNS, incidentColumns, incidentFromRow, type IncidentRow, type StoredIncident } from "./incidents.ts";
import { alertKey } from "./keys.ts";
import type { ProblemTextReads, VersionedRow } from "./problem-texts.ts";

/** What a batch or a timer needs locked to decide noise: which problems and storm counters. */
export interface ProblemWanted {
  /** Open groups of these keys (routing/noise.ts groupIdOf). */
  groupKeys: readonly string[];
  /** Also groups of these keys resolved since then (flapping-aware groups reopen), or null. */
  resolvedSince: string | null;
  /** The problems of these alerts (their group, their storm incidents). */
  alertIds: readonly string[];
  /** `storm/connector` (names cannot hold a slash) counters, and their storm incidents. */
  storms: readonly string[];
}

export interface LockedStormCounter extends StormCounter {
  storm: string;
  connector: string;
}

export const stormCounterKey = (storm: string, connector: string) => `${storm}/${connector}`;

type LockedRow = IncidentRow & VersionedRow;

const NONE = { rows: [] as LockedRow[] };

/**
 * A problem's columns, its long ones (store/problem-texts.ts) left out when parameter `$known`
 * names its version, with the version and this transaction's id as its writes will show it
 * (txid_current() rather than pg_current_xact_id(), which PostgreSQL 11 and 12 lack).
 */
function problemColumns(known: string): string {
  const held = `(id::text || '/' || xmin::text) = ANY(${known}::text[])`;
  const unlessHeld = (column: string) => `CASE WHEN ${held} THEN NULL ELSE ${column} END`;
  return `${incidentColumns({ routing: unlessHeld("routing"), description: unlessHeld("description"), problem_lines: unlessHeld("problem_lines") })},
  ${held} AS known, xmin::text AS version, (txid_current() % 4294967296)::text AS writer`;
}

/**
 * Open groups of these keys (and those resolved since then), and the groups of these alerts.
 * New arrivals name their groups by key only (the intake's every batch): one index lookup, a
 * statement half as dear to plan as the union that alerts already stored also need. Each way of
 * naming a row is its own index lookup (a UNION, never an OR, which would scan the table), and the
 * union is one array the outer lookup takes by primary key: as `id IN (…)` the planner guessed 100
 * ids and read every incident of a table without fresh statistics instead.
 */
function lockGroups(tx: Queryable, groupKeys: readonly string[], alertKeys: readonly string[], resolvedSince: string, known: string[]): Promise<{ rows: LockedRow[] }> {
  if (alertKeys.length > 0) {
    return tx.query<LockedRow>(
      `SELECT ${problemColumns("$4")} FROM incidents
       WHERE kind = 'group' AND id = ANY(ARRAY(
         SELECT id FROM incidents WHERE group_key = ANY($1::text[]) AND (state = 'open' OR resolved_at >= $3::timestamptz)
         UNION SELECT problem_id FROM incidents WHERE alert_key = ANY($2::text[]) AND problem_id IS NOT NULL))
       ORDER BY group_key, id FOR UPDATE`,
      [groupKeys, alertKeys, resolvedSince, known],
      { name: "noise-lock-groups" },
    );
  }
  if (groupKeys.length === 0) return Promise.resolve(NONE);
  return tx.query<LockedRow>(
    `SELECT ${problemColumns("$3")} FROM incidents
     WHERE kind = 'group' AND group_key = ANY($1::text[]) AND (state = 'open' OR resolved_at >= $2::timestamptz)
     ORDER BY group_key, id FOR UPDATE`,
    [groupKeys, resolvedSince, known],
    { name: "noise-lock-groups-by-key" },
  );
}

/** The storm incidents of these guards' counters, and those of these alerts; new arrivals name them through the counters only. */
function lockStormIncidents(tx: Queryable, storms: readonly string[], alertKeys: readonly string[], known: string[]): Promise<{ rows: LockedRow[] }> {
  if (alertKeys.length > 0) {
    return tx.query<LockedRow>(
      `SELECT ${problemColumns("$3")} FROM incidents
       WHERE kind = 'storm' AND id = ANY(ARRAY(
         SELECT incident_id FROM noise_storms WHERE storm || '/' || connector = ANY($1::text[]) AND incident_id IS NOT NULL
         UNION SELECT s.value::uuid FROM incidents m, jsonb_each_text(m.noise -> 'storms') s WHERE m.alert_key = ANY($2::text[]) AND jsonb_typeof(m.noise -> 'storms') = 'object'))
       ORDER BY id FOR UPDATE`,
      [storms, alertKeys, known],
      { name: "noise-lock-storms" },
    );
  }
  if (storms.length === 0) return Promise.resolve(NONE);
  return tx.query<LockedRow>(
    `SELECT ${problemColumns("$2")} FROM incidents
     WHERE kind = 'storm' AND id = ANY(ARRAY(SELECT incident_id FROM noise_storms WHERE storm || '/' || connector = ANY($1::text[]) AND incident_id IS NOT NULL))
     ORDER BY id FOR UPDATE`,
    [storms, known],
    { name: "noise-lock-storms-by-guard" },
  );
}

/**
 * Locks what `wanted` names in the global order, in one round trip on a pipelining driver (the
 * statements are sent together; each waits for the locks of the one before on the server).
 * With `texts`, problems' long columns come from the text this process holds where it can.
 */
export async function lockNoiseRows(tx: Queryable, wanted: ProblemWanted, texts?: ProblemTextReads): Promise<{ problems: StoredIncident[]; counters: LockedStormCounter[] }> {
  const alertKeys = [...new Set(wanted.alertIds.map(alertKey))];
  const groupKeys = [...new Set(wanted.groupKeys)];
  const resolvedSince = wanted.resolvedSince ?? "infinity";
  const known = texts?.known() ?? [];
  const groups = lockGroups(tx, groupKeys, alertKeys, resolvedSince, known);
  const storms = [...new Set(wanted.storms)].sort();
  // Created on first use; an existing row is left alone (and locked just below).
  const created = storms.length === 0
    ? Promise.resolve({ rows: [] })
    : tx.query(
        `INSERT INTO noise_storms (storm, connector) SELECT split_part(k, '/', 1), split_part(k, '/', 2) FROM unnest($1::text[]) AS k ORDER BY k ON CONFLICT DO NOTHING`,
        [storms],
        { name: "noise-create-counters" },
      );
  const counters = storms.length === 0
    ? Promise.resolve({ rows: [] as Array<{ storm: string; connector: string; opened: unknown; incident_id: string | null }> })
    : tx.query<{ storm: string; connector: string; opened: unknown; incident_id: string | null }>(
        `SELECT storm, connector, opened, incident_id::text AS incident_id FROM noise_storms
         WHERE storm || '/' || connector = ANY($1::text[]) ORDER BY storm, connector FOR UPDATE`,
        [storms],
        { name: "noise-lock-counters" },
      );
  const stormIncidents = lockStormIncidents(tx, storms, alertKeys, known);
  const [g, , c, s] = await Promise.all([groups, created, counters, stormIncidents]);
  return {
    problems: [...g.rows, ...s.rows].map((row) => incidentFromRow(texts ? texts.fill(row) : row)),
    counters: c.rows.map((r) => ({ storm: r.storm, connector: r.connector, opened: (typeof r.opened === "string" ? JSON.parse(r.opened) : r.opened) as string[], incidentId: r.incident_id })),
  };
}

/** Writes changed storm counters in the caller's transaction. */
export function writeStormCounters(tx: Transaction, counters: readonly LockedStormCounter[]): void {
  if (counters.length === 0) return;
  tx.later(
    `UPDATE noise_storms s SET opened = t.opened, incident_id = t.incident_id
     FROM json_to_recordset($1::json) AS t(storm text, connector text, opened jsonb, incident_id uuid)
     WHERE s.storm = t.storm AND s.connector = t.connector`,
    [JSON.stringify(counters.map((c) => ({ storm: c.storm, connector: c.connector, opened: c.opened, incident_id: c.incidentId })))],
    { name: "noise-write-counters" },
  );
}

/** Problems whose noise timer is due (groupWait over, an update due, quiet after flapping), locked; others' locks skipped. */
export async function lockDueProblems(tx: Queryable, now: string, limit: number): Promise<StoredIncident[]> {
  const { rows } = await tx.query<IncidentRow>(
    `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE due_at <= $1::timestamptz AND kind <> 'alert' ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [now, limit],
  );
  return rows.map(incidentFromRow);
}

// ——— silences ——————————————————————————————————————————————————————————————————————————

export interface Silence {
  id: string;
  match: MatchSpec;
  startsAt: string;
  endsAt: string;
  comment: string;
  createdBy: string;
  createdAt: string;
  expiredBy: string | null;
}

export type SilenceState = "active" | "pending" | "expired";

interface SilenceRow {
  id: string;
  match: unknown;
  starts_at: string;
  ends_at: string;
  comment: string;
  created_by: string;
  created_at: string;
  expired_by: string | null;
}

const SILENCE_COLUMNS = `id::text AS id, match, to_json(starts_at)#>>'{}' AS starts_at, to_json(ends_at)#>>'{}' AS ends_at, comment, created_by,
  to_json(created_at)#>>'{}' AS created_at, expired_by`;

function silenceFromRow(row: SilenceRow): Silence {
  return {
    id: row.id,
    match: (typeof row.match === "string" ? JSON.parse(row.match) : row.match) as MatchSpec,
    startsAt: new Date(row.starts_at).toISOString(),
    endsAt: new Date(row.ends_at).toISOString(),
    comment: row.comment,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    expiredBy: row.expired_by,
  };
}

export function silenceState(silence: Pick<Silence, "startsAt" | "endsAt">, now: string): SilenceState {
  const at = Date.parse(now);
  if (Date.parse(silence.endsAt) <= at) return "expired";
  return Date.parse(silence.startsAt) > at ? "pending" : "active";
}

/** Silences in force at `now`: what the intake checks each new incident against (a small table, indexed by end). */
export async function activeSilences(tx: Queryable, now: string): Promise<Silence[]> {
  const { rows } = await tx.query<SilenceRow>(`SELECT ${SILENCE_COLUMNS} FROM silences WHERE ends_at > $1::timestamptz AND starts_at <= $1::timestamptz`, [now], {
    name: "noise-active-silences",
  });
  return rows.map(silenceFromRow);
}

export async function silencesById(tx: Queryable, ids: readonly string[]): Promise<Map<string, Silence>> {
  if (ids.length === 0) return new Map();
  const { rows } = await tx.query<SilenceRow>(`SELECT ${SILENCE_COLUMNS} FROM silences WHERE id = ANY($1::uuid[])`, [[...new Set(ids)]]);
  return new Map(rows.map((r) => [r.id, silenceFromRow(r)]));
}

export async function insertSilence(tx: Queryable, silence: Omit<Silence, "id" | "createdAt" | "expiredBy">): Promise<Silence> {
  const { rows } = await tx.query<SilenceRow>(
    `INSERT INTO silences (match, starts_at, ends_at, comment, created_by) VALUES ($1::jsonb, $2::timestamptz, $3::timestamptz, $4, $5) RETURNING ${SILENCE_COLUMNS}`,
    [JSON.stringify(silence.match), silence.startsAt, silence.endsAt, silence.comment, silence.createdBy],
  );
  return silenceFromRow(rows[0]!);
}

/** Ends a silence now (a pending one never starts); null when there is none, unchanged when already over. */
export async function expireSilence(tx: Queryable, id: string, actor: string, now: string): Promise<{ silence: Silence; changed: boolean } | null> {
  const { rows } = await tx.query<SilenceRow & { changed: boolean }>(
    `WITH before AS (SELECT id, ends_at FROM silences WHERE id = $1::uuid FOR UPDATE),
     changed AS (
       UPDATE silences s SET ends_at = GREATEST(s.starts_at, $3::timestamptz), expired_by = $2
       FROM before WHERE s.id = before.id AND before.ends_at > $3::timestamptz
       RETURNING s.id)
     SELECT ${SILENCE_COLUMNS}, EXISTS (SELECT 1 FROM changed) AS changed FROM silences WHERE id = $1::uuid`,
    [id, actor, now],
  );
  // The UPDATE's new values are not visible to this statement's own SELECT: read them once more.
  if (!rows[0]) return null;
  const changed = rows[0].changed;
  if (!changed) return { silence: silenceFromRow(rows[0]), changed };
  const again = await tx.query<SilenceRow>(`SELECT ${SILENCE_COLUMNS} FROM silences WHERE id = $1::uuid`, [id]);
  return { silence: silenceFromRow(again.rows[0]!), changed };
}

/**
 * Incidents a silence holds get their release time brought forward to `now`, so the hold timer
 * looks at them at once; locked in alert-key order like every batch.
 */
export async function releaseSilenced(tx: Queryable, silenceId: string, now: string): Promise<number> {
  const { rows } = await tx.query<{ id: string }>(
    `WITH held AS (
       SELECT id FROM incidents
       WHERE held_until > $2::timestamptz AND jsonb_typeof(noise -> 'holds') = 'array'
         AND EXISTS (SELECT 1 FROM jsonb_array_elements(noise -> 'holds') h WHERE h ->> 'id' = $1)
       ORDER BY alert_key FOR UPDATE)
     UPDATE incidents i SET held_until = $2::timestamptz FROM held WHERE i.id = held.id RETURNING i.id::text AS id`,
    [silenceId, now],
  );
  return rows.length;
}

export async function listSilences(db: Queryable, filter: { state?: SilenceState; now: string; limit: number; after?: { createdAt: string; id: string } }): Promise<Silence[]> {
  const where: string[] = [];
  const params: unknown[] = [filter.now];
  if (filter.state === "active") where.push("starts_at <= $1::timestamptz AND ends_at > $1::timestamptz");
  if (filter.state === "pending") where.push("starts_at > $1::timestamptz AND ends_at > $1::timestamptz");
  if (filter.state === "expired") where.push("ends_at <= $1::timestamptz");
  if (filter.after) {
    params.push(filter.after.createdAt, filter.after.id);
    where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(filter.limit);
  const { rows } = await db.query<SilenceRow>(
    `SELECT ${SILENCE_COLUMNS} FROM silences ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(silenceFromRow);
}

export async function getSilence(db: Queryable, id: string): Promise<Silence | null> {
  const { rows } = await db.query<SilenceRow>(`SELECT ${SILENCE_COLUMNS} FROM silences WHERE id = $1::uuid`, [id]);
  return rows[0] ? silenceFromRow(rows[0]) : null;
}
