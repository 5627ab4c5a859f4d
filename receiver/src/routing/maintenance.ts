/**
 * Maintenance windows: whether an alert arriving at an instant falls inside one, which, and when
 * it ends. Pure: the instant is a parameter, never the clock.
 *
 * A window is either one-off (`from` / `to`, ISO 8601 timestamps with their UTC offset) or
 * recurring (`cron` + `duration` + `timeZone`). Windows are half-open: [start, end).
 *
 * Recurring windows use croner: no dependencies, its own types, and documented DST handling taken
 * from Vixie cron (the same as croner-rust): a start time that does not exist on a spring-forward
 * day (02:30 in Europe/Berlin on the last Sunday of March) starts at the first valid time after the
 * gap, and one that occurs twice on a fall-back day starts once, at its first occurrence.
 * cron-parser schedules these cases identically, but brings luxon along. `fixedTimeRule:
 * "no-wildcard"` makes `0 2,14 * * 6` a fixed-time schedule too, as Vixie cron treats it.
 *
 * `duration` is elapsed time: a 4h window that starts at 00:00 local on a spring-forward night
 * ends at 05:00 local, four real hours later. Overlapping or touching occurrences (and windows)
 * merge: `until` is when the alert is next outside every window that matches it.
 */
import { Cron } from "croner";
import { compileMatcher, type Matcher, type MatchSpec } from "./match.ts";
import { problem, type Problem, type RulesPath } from "./problems.ts";
import type { RoutingSubject } from "./subject.ts";

/** A window as written in the rules (shape checked by rules-schema.ts). */
export interface WindowSpec {
  name: string;
  match?: MatchSpec;
  from?: string;
  to?: string;
  cron?: string;
  duration?: string;
  timeZone?: string;
}

export interface MaintenanceWindow {
  name: string;
  matcher: Matcher;
  /** How the window reads in an explanation: "2026-03-29T01:00:00Z to …" or "cron … for 4h in …". */
  schedule: string;
  /** The occurrence that covers `at`, or null. */
  occurrenceAt(at: number): { start: number; end: number } | null;
}

export interface MaintenanceState {
  held: boolean;
  /** The first window in rule order that covers the alert now. */
  window: string | null;
  /** Every window that covers the alert now, in rule order. */
  windows: string[];
  /** When the alert is next outside every matching window (ISO 8601 UTC), or null when not held. */
  until: string | null;
}

const UNIT_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
/** Longer recurring windows are almost surely a mistake (and would merge into one endless hold). */
const MAX_RECURRING_MS = 31 * UNIT_MS.d!;
/** Bounds the merging of back-to-back occurrences and windows: a hold that never ends is cut here. */
const MAX_MERGES = 1000;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * `90m`, `4h`, `1h30m`, `2d` (d = 24 hours), or ISO 8601 `PT4H`, `PT1H30M`, `P1D`, `P1DT12H`.
 * Returns milliseconds, or null when it is neither.
 */
export function parseDuration(text: string): number | null {
  const compact = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/i.exec(text.trim());
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i.exec(text.trim());
  const parts = compact ?? iso;
  if (!parts || text.trim() === "" || /T$/i.test(text.trim()) || /^P$/i.test(text.trim())) return null;
  const [, d, h, m, s] = parts;
  const ms = Number(d ?? 0) * UNIT_MS.d! + Number(h ?? 0) * UNIT_MS.h! + Number(m ?? 0) * UNIT_MS.m! + Number(s ?? 0) * UNIT_MS.s!;
  return ms > 0 ? ms : null;
}

function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  return parts.join("");
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function timestamp(value: string, path: RulesPath, problems: Problem[]): number | null {
  const ms = TIMESTAMP.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    problems.push(problem("invalid_timestamp", path, `must be an ISO 8601 timestamp with its UTC offset, such as 2026-03-28T22:00:00+01:00 or 2026-03-28T21:00:00Z, got ${JSON.stringify(value)}`));
    return null;
  }
  return ms;
}

function oneOff(spec: WindowSpec, path: RulesPath, problems: Problem[]): Omit<MaintenanceWindow, "name" | "matcher"> | null {
  const from = timestamp(spec.from!, [...path, "from"], problems);
  const to = timestamp(spec.to!, [...path, "to"], problems);
  if (from === null || to === null) return null;
  if (to <= from) {
    problems.push(problem("invalid_value", [...path, "to"], `must be after from (${spec.from})`));
    return null;
  }
  return {
    schedule: `${new Date(from).toISOString()} to ${new Date(to).toISOString()}`,
    occurrenceAt: (at) => (at >= from && at < to ? { start: from, end: to } : null),
  };
}

function recurring(spec: WindowSpec, path: RulesPath, problems: Problem[]): Omit<MaintenanceWindow, "name" | "matcher"> | null {
  const before = problems.length;
  const duration = parseDuration(spec.duration!);
  if (duration === null) {
    problems.push(problem("invalid_duration", [...path, "duration"], `must be a duration such as 90m, 4h, 1h30m, 2d or PT4H, got ${JSON.stringify(spec.duration)}`));
  } else if (duration > MAX_RECURRING_MS) {
    problems.push(problem("invalid_duration", [...path, "duration"], `must be at most 31d for a recurring window, got ${JSON.stringify(spec.duration)}; use from/to for a longer one-off window`));
  }
  const timeZone = spec.timeZone!;
  if (!isTimeZone(timeZone)) {
    problems.push(problem("invalid_time_zone", [...path, "timeZone"], `must be an IANA time zone such as Europe/Berlin, America/New_York or UTC, got ${JSON.stringify(timeZone)}`));
  }
  let cron: Cron | undefined;
  try {
    cron = new Cron(spec.cron!, { timezone: isTimeZone(timeZone) ? timeZone : "UTC", mode: "5-part", fixedTimeRule: "no-wildcard", paused: true });
    if (!cron.nextRun(new Date(0))) throw new Error("it never fires");
  } catch (error) {
    const reason = (error as Error).message.replace(/^CronPattern: /, "");
    problems.push(problem("invalid_cron", [...path, "cron"], `must be a five-field cron expression (minute hour day-of-month month day-of-week), such as "0 22 * * 6"; ${JSON.stringify(spec.cron)}: ${reason}`));
  }
  if (problems.length > before || !cron || duration === null) return null;
  const schedule = cron;
  const nextStart = (after: number): number | null => schedule.nextRun(new Date(after))?.getTime() ?? null;
  return {
    schedule: `cron "${spec.cron}" in ${timeZone}, for ${formatDuration(duration)} each`,
    occurrenceAt(at) {
      // The earliest start after (at - duration) is the first occurrence still running at `at`.
      const start = nextStart(at - duration);
      return start === null || start > at ? null : { start, end: start + duration };
    },
  };
}

/** Compiles one window found at `path`; problems are added to `problems`. */
export function compileWindow(spec: WindowSpec, path: RulesPath, problems: Problem[]): MaintenanceWindow | null {
  const matcher = compileMatcher(spec.match, [...path, "match"], problems);
  const once = spec.from !== undefined || spec.to !== undefined;
  const repeats = spec.cron !== undefined || spec.duration !== undefined || spec.timeZone !== undefined;
  if (once && repeats) {
    problems.push(problem("invalid_value", path, "mixes a one-off window (from, to) with a recurring one (cron, duration, timeZone): use one or the other"));
    return null;
  }
  if (once) {
    const missing = (["from", "to"] as const).filter((key) => spec[key] === undefined);
    if (missing.length) {
      problems.push(problem("missing_key", path, `needs ${missing.join(" and ")} for a one-off window`));
      return null;
    }
    const window = oneOff(spec, path, problems);
    return window && { name: spec.name, matcher, ...window };
  }
  if (repeats) {
    const missing = (["cron", "duration", "timeZone"] as const).filter((key) => spec[key] === undefined);
    if (missing.length) {
      problems.push(problem("missing_key", path, `needs ${missing.join(" and ")} for a recurring window (cron, duration and timeZone)`));
      return null;
    }
    const window = recurring(spec, path, problems);
    return window && { name: spec.name, matcher, ...window };
  }
  problems.push(problem("missing_key", path, "needs from and to (a one-off window) or cron, duration and timeZone (a recurring window)"));
  return null;
}

/** The windows that match the alert and cover `at`, with the end of the first-matching occurrence. */
function covering(windows: readonly MaintenanceWindow[], matching: readonly MaintenanceWindow[], at: number) {
  return matching.flatMap((window) => {
    const occurrence = window.occurrenceAt(at);
    return occurrence ? [{ window, ...occurrence }] : [];
  }).sort((a, b) => windows.indexOf(a.window) - windows.indexOf(b.window));
}

/** Whether an alert arriving at `now` is held, by which window, and until when. */
export function maintenanceAt(windows: readonly MaintenanceWindow[], subject: RoutingSubject, now: Date): MaintenanceState {
  const matching = windows.filter((w) => w.matcher.test(subject).matched);
  const at = now.getTime();
  const active = covering(windows, matching, at);
  if (active.length === 0) return { held: false, window: null, windows: [], until: null };
  // Follow the hold through windows that overlap or touch, so the release happens once, at the end.
  let until = Math.max(...active.map((a) => a.end));
  for (let merges = 0; merges < MAX_MERGES; merges++) {
    const next = covering(windows, matching, until);
    if (next.length === 0) break;
    until = Math.max(...next.map((a) => a.end));
  }
  return { held: true, window: active[0]!.window.name, windows: active.map((a) => a.window.name), until: new Date(until).toISOString() };
}
