/**
 * The noise state machine (docs/noise.md): what grouping, holds, flapping and storm guards do to
 * incidents and their tickets. Pure: (state, input, now) → (state, events, actions), with every
 * time a parameter. lifecycle.ts still decides each alert's own state (one incident per alertId,
 * convergent under any order); this decides where that state is told and when.
 *
 * - An alert incident may be held (a transient hold, a silence; a maintenance window is the
 *   store's `hold`): it is sent only when every hold has ended, and never if it resolved meanwhile.
 * - A dispatched alert either has its own ticket, or is a member of a problem — a group (alerts of
 *   one group key) or a storm incident (what a storm guard gathers past its ticket budget) — whose
 *   ticket tells its members' changes, one update per groupInterval.
 * - Flapping is a group's: Azure gives every new firing of a rule on a resource a new alertId, so
 *   what flaps is the series, not one alert. A group of a noise entry with `flapping` reopens (same
 *   ticket) when a member fires within `within` of its resolve; after `changes` resolves and
 *   reopens within `within` it flaps: its ticket is told once, and no more opens and closes until
 *   it has been quiet for `quietFor`; then the ticket gets the group's state as it is.
 */
import type { Severity } from "../alerts/schema.ts";
import type { Incident, IncidentEvent } from "./lifecycle.ts";

export type ResolveWhen = "all" | "first" | "never";

export interface FlappingConfig {
  changes: number;
  withinMs: number;
  quietForMs: number;
}

/** A hold on an alert's deliveries besides a maintenance window's (which the store keeps apart). */
export type NoiseHold = { kind: "transient"; until: string } | { kind: "silence"; id: string; until: string };

export interface FlapState {
  /** Payload times of the latest state changes inside the window, oldest first (at most `changes`). */
  changes: string[];
  /** When it started flapping; null when it is not flapping. */
  since: string | null;
}

/** An alert incident's noise state (null in the store when there is nothing to remember). */
export interface AlertNoise {
  holds: NoiseHold[];
  /** Sent on to its ticket, its group's or a storm's; false while held. */
  dispatched: boolean;
  /** Resolved while a transient hold held it: it never reached the ITSM. */
  transient: boolean;
  /** Per connector, the storm incident that took it instead of a ticket of its own. */
  storms: Record<string, string>;
}

export const QUIET_ALERT: AlertNoise = { holds: [], dispatched: true, transient: false, storms: {} };

/** Whether an alert's noise state says anything the store must keep. */
export function isQuiet(noise: AlertNoise): boolean {
  return noise.holds.length === 0 && noise.dispatched && !noise.transient && Object.keys(noise.storms).length === 0;
}

function instant(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms;
}

const iso = (ms: number) => new Date(ms).toISOString();

// ——— holds ————————————————————————————————————————————————————————————————————————————

/** The holds still running at `now`. */
export function activeHolds(holds: readonly NoiseHold[], now: string): NoiseHold[] {
  return holds.filter((h) => instant(h.until) > instant(now));
}

/** When the last running hold ends, or null. */
export function heldUntil(holds: readonly NoiseHold[]): string | null {
  return holds.length === 0 ? null : iso(Math.max(...holds.map((h) => instant(h.until))));
}

// ——— flapping ————————————————————————————————————————————————————————————————————————

/**
 * Counts state changes (the ledger's times of a group's resolves and reopens) the way ServiceNow
 * Event Management counts flaps: it flaps once `changes` of them fall within `within` of the newest.
 */
export function flapStep(state: FlapState | null, config: FlappingConfig, changeTimes: readonly string[]): { state: FlapState; started: boolean } {
  const all = [...(state?.changes ?? []), ...changeTimes].sort((a, b) => instant(a) - instant(b));
  const newest = all.length ? instant(all.at(-1)!) : 0;
  // Two changes at one instant (a resolve and a re-firing in one batch) are two changes.
  const recent = all.filter((t) => instant(t) > newest - config.withinMs).slice(-config.changes);
  const since = state?.since ?? null;
  if (since === null && recent.length >= config.changes) return { state: { changes: recent, since: recent.at(-1)! }, started: true };
  return { state: { changes: recent, since }, started: false };
}

/** When a flapping group may stop flapping: `quietFor` after its last change. */
export function flapQuietUntil(state: FlapState, config: FlappingConfig): string | null {
  if (state.since === null || state.changes.length === 0) return null;
  return iso(instant(state.changes.at(-1)!) + config.quietForMs);
}

/** Stops flapping once quiet long enough; the ticket then gets the group's state as it is. */
export function leaveFlapping(state: FlapState, config: FlappingConfig, now: string): { state: FlapState; ended: boolean } {
  const until = flapQuietUntil(state, config);
  if (until === null || instant(now) < instant(until)) return { state, ended: false };
  return { state: { changes: [], since: null }, ended: true };
}

// ——— storm guards ——————————————————————————————————————————————————————————————————————

export interface StormCounter {
  /** When the tickets it let through lately were opened (the ledger's clock), at most `maxNewTickets`. */
  opened: string[];
  /** Its storm incident, while there is one. */
  incidentId: string | null;
}

/**
 * A new ticket for one connector: admitted while fewer than `maxNewTickets` opened within `per`;
 * past that, the incident joins the storm incident instead. The counter is all it remembers, so a
 * restart (or another replica reading it) decides the same. Time never runs backwards here: a
 * replica whose clock lags counts as if it were the latest.
 */
export function stormAdmit(counter: StormCounter, rule: { maxNewTickets: number; perMs: number }, now: string): { admitted: boolean; counter: StormCounter } {
  const times = counter.opened.map(instant);
  const latest = Math.max(instant(now), ...times);
  const recent = counter.opened.filter((_, n) => times[n]! > latest - rule.perMs);
  if (recent.length < rule.maxNewTickets) return { admitted: true, counter: { ...counter, opened: [...recent, iso(latest)].slice(-rule.maxNewTickets) } };
  return { admitted: false, counter: { ...counter, opened: recent } };
}

// ——— problems: groups and storm incidents ————————————————————————————————————————————

/** Members a ticket lists by name; the rest are counted. */
export const SHOWN_MEMBERS = 20;
/** Lines one update carries; the rest are counted. */
export const PENDING_LINES = 20;

/** An alert as a ticket line names it: its title and the last segment of its id (the whole id is in the console). */
function named(title: string, alertId: string): string {
  return `${title} (${alertId.split("/").filter(Boolean).at(-1) ?? alertId})`;
}

export interface ProblemMember {
  incidentId: string;
  alertId: string;
  title: string;
  state: "open" | "resolved";
}

export interface ProblemState {
  kind: "group" | "storm";
  /** The noise entry or storm guard. */
  rule: string;
  /** The group key, or the storm's connector. */
  key: string;
  resolveWhen: ResolveWhen;
  groupIntervalMs: number;
  members: number;
  open: number;
  shown: ProblemMember[];
  /** The ticket waits until then to gather members (groupWait); null once it is open. */
  waitUntil: string | null;
  /** The ticket was opened. */
  sent: boolean;
  /** Member changes reach the open ticket no sooner than this. */
  nextUpdateAt: string | null;
  pending: string[];
  pendingMore: number;
  /** The noise entry's flapping rule (groups only), and the group's flapping state. */
  flapping: FlappingConfig | null;
  flap: FlapState | null;
  /** What its ticket was last told: flapping holds back opens and resolves. */
  told: "open" | "resolved" | null;
}

export type ProblemAction = "open" | "update" | "resolve" | "reopen";

export interface ProblemDecision {
  incident: Incident;
  state: ProblemState;
  events: IncidentEvent[];
  /** What its ticket must be told, with the text of an update. */
  actions: ProblemAction[];
  note: string | null;
}

const SEVERITY_ORDER: readonly Severity[] = ["Sev0", "Sev1", "Sev2", "Sev3", "Sev4"];

function graver(a: Severity | null, b: Severity | null): Severity | null {
  if (a === null) return b;
  if (b === null) return a;
  return SEVERITY_ORDER.indexOf(a) <= SEVERITY_ORDER.indexOf(b) ? a : b;
}

function title(state: ProblemState): string {
  const count = `${state.members} alert${state.members === 1 ? "" : "s"}`;
  return state.kind === "group" ? `${count} grouped by ${state.rule}: ${state.key}` : `Alert storm (${state.rule}, ${state.key}): ${count} past the ticket budget`;
}

/**
 * The members it lists, without counts: the counts change with every member and live in the title
 * and the ticket's header, so the text changes only when a listed member does, and the ledger keeps
 * it without rewriting it for each batch (store/ledger-writes.ts).
 */
function description(state: ProblemState): string {
  const head = state.kind === "group" ? `Alerts of noise entry "${state.rule}" with ${state.key}.` : `Storm guard "${state.rule}" gathered these alerts instead of opening a ticket for each.`;
  const overflow = state.members > state.shown.length;
  // Every member joining rebuilds the text, and past the first 20 nothing in it changes.
  const known = descriptions.get(state.shown);
  if (known && known.head === head && known.overflow === overflow) return known.text;
  const lines = state.shown.map((m) => `- ${m.state === "open" ? "firing" : "resolved"}: ${named(m.title, m.alertId)}`);
  const text = [head, ...lines, ...(overflow ? [`Only the first ${state.shown.length} are listed; the secure-export console lists every member.`] : [])].join("\n");
  descriptions.set(state.shown, { head, overflow, text });
  return text;
}

/** Descriptions by the list of members they were made from (a state's list is never changed, only replaced). */
const descriptions = new WeakMap<readonly ProblemMember[], { head: string; overflow: boolean; text: string }>();

function event(type: IncidentEvent["type"], at: string, detail: Record<string, unknown>): IncidentEvent {
  return { type, at, notificationId: null, actor: null, detail };
}

function withText(incident: Incident, state: ProblemState): Incident {
  return { ...incident, title: title(state), description: description(state) };
}

/** A new group or storm incident, before its first member joins. */
export function openProblem(input: {
  kind: "group" | "storm";
  alertId: string;
  rule: string;
  key: string;
  resolveWhen: ResolveWhen;
  groupWaitMs: number;
  groupIntervalMs: number;
  flapping?: FlappingConfig | null;
  first: Incident;
  now: string;
}): ProblemDecision {
  const { first, now } = input;
  const state: ProblemState = {
    kind: input.kind,
    rule: input.rule,
    key: input.key,
    resolveWhen: input.resolveWhen,
    groupIntervalMs: input.groupIntervalMs,
    members: 0,
    open: 0,
    shown: [],
    waitUntil: iso(instant(now) + input.groupWaitMs),
    sent: false,
    nextUpdateAt: null,
    pending: [],
    pendingMore: 0,
    flapping: input.flapping ?? null,
    flap: null,
    told: null,
  };
  const incident = withText(
    {
      alertId: input.alertId,
      state: "open",
      resolution: null,
      severity: first.severity,
      title: "",
      description: null,
      monitoringService: first.monitoringService,
      signalType: first.signalType,
      family: first.family,
      alertRule: input.kind === "group" ? first.alertRule : null,
      firedAt: now,
      resolvedAt: null,
      last: { at: now, rank: 0, key: "problem" },
    },
    state,
  );
  return { incident, state, events: [event("opened", now, { kind: input.kind, rule: input.rule, key: input.key, ticketAt: state.waitUntil })], actions: [], note: null };
}

function addLine(state: ProblemState, line: string): ProblemState {
  // Not open yet: its first text lists the members as they are. Flapping: told once, then quiet.
  if (!state.sent || state.flap?.since) return state;
  return state.pending.length < PENDING_LINES ? { ...state, pending: [...state.pending, line] } : { ...state, pendingMore: state.pendingMore + 1 };
}

function resolves(state: ProblemState, memberResolved: boolean): boolean {
  if (state.resolveWhen === "never") return false;
  if (state.resolveWhen === "first") return memberResolved;
  return state.open === 0;
}

/**
 * A resolve or a reopen of a flapping-aware group: counted; once it flaps, its ticket is told so
 * once and then nothing, until quiet. Null when the change is told as usual.
 */
function flapChange(state: ProblemState, now: string): { state: ProblemState; held: boolean; note: string | null; events: IncidentEvent[] } {
  if (!state.flapping || !state.sent) return { state, held: false, note: null, events: [] };
  const step = flapStep(state.flap, state.flapping, [now]);
  const next = { ...state, flap: step.state };
  if (step.started) {
    const quietUntil = flapQuietUntil(step.state, state.flapping);
    const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;
    return {
      state: next,
      held: true,
      note: `These alerts are flapping: ${step.state.changes.length} resolves and re-firings within ${minutes(state.flapping.withinMs)}. Opens and resolves are held back until they have been quiet for ${minutes(state.flapping.quietForMs)} (about ${quietUntil}); then this ticket gets their state as it is.`,
      events: [event("flapping_started", now, { changes: step.state.changes.length, within: state.flapping.withinMs, quietUntil })],
    };
  }
  return { state: next, held: step.state.since !== null, note: null, events: [] };
}

function resolveProblem(incident: Incident, state: ProblemState, now: string, why: string): ProblemDecision {
  const resolved: Incident = { ...withText(incident, state), state: "resolved", resolution: "alert", resolvedAt: now, last: { at: now, rank: 1, key: "problem" } };
  const flap = flapChange(state, now);
  const pending = state.pending.length + state.pendingMore > 0 && state.sent ? pendingText(state) : null;
  // Told at once, not at the next groupInterval: users expect a resolve when it happens.
  const actions: ProblemAction[] = !state.sent ? [] : flap.note ? ["update"] : flap.held ? [] : ["resolve"];
  const told = actions.includes("resolve") ? "resolved" : state.told;
  return {
    incident: resolved,
    state: { ...flap.state, told, waitUntil: null, nextUpdateAt: flap.held ? state.nextUpdateAt : null, pending: [], pendingMore: 0 },
    events: [event("resolved", now, { resolution: "alert", why, sent: state.sent && actions.includes("resolve"), members: state.members }), ...flap.events],
    actions,
    note: flap.note ?? pending,
  };
}

/**
 * A member fires again within `within` of its flapping-aware group's resolve: the group reopens,
 * on the same ticket (a new group would be a new ticket each time the series flaps).
 */
export function reopenProblem(problem: { incident: Incident; state: ProblemState }, now: string): ProblemDecision {
  const flap = flapChange(problem.state, now);
  // A flapping group is a problem to look at: its ticket stays open while it flaps.
  const reopen: ProblemAction[] = problem.state.told === "open" ? [] : ["reopen"];
  const actions: ProblemAction[] = !problem.state.sent ? [] : flap.note ? ["update", ...reopen] : flap.held ? [] : reopen;
  const state: ProblemState = { ...flap.state, told: actions.includes("reopen") ? "open" : flap.state.told, nextUpdateAt: flap.state.nextUpdateAt ?? iso(instant(now) + flap.state.groupIntervalMs) };
  const incident: Incident = { ...withText(problem.incident, state), state: "open", resolution: null, resolvedAt: null, last: { at: now, rank: 0, key: "problem" } };
  return { incident, state, events: [event("reopened", now, { why: "a member fired again", flapping: state.flap?.since !== null && state.flap !== null }), ...flap.events], actions, note: flap.note };
}

/** A member joins (its alert dispatched with this group key, or a storm took it). */
export function joinProblem(problem: { incident: Incident; state: ProblemState }, member: ProblemMember & { severity: Severity | null }, now: string): ProblemDecision {
  const open = member.state === "open" ? 1 : 0;
  let state: ProblemState = { ...problem.state, members: problem.state.members + 1, open: problem.state.open + open };
  if (state.shown.length < SHOWN_MEMBERS) state = { ...state, shown: [...state.shown, { incidentId: member.incidentId, alertId: member.alertId, title: member.title, state: member.state }] };
  state = addLine(state, `joined (${member.state === "open" ? "firing" : "resolved"}): ${named(member.title, member.alertId)}`);
  const incident = { ...withText(problem.incident, state), severity: graver(problem.incident.severity, member.severity) };
  const events = [event("member_joined", now, { incidentId: member.incidentId, alertId: member.alertId, members: state.members, open: state.open })];
  // A member that joins already resolved (its first notification said Resolved) may be what resolves the problem.
  if (member.state === "resolved" && resolves(state, true)) {
    const resolved = resolveProblem(incident, state, now, state.resolveWhen === "first" ? "a member resolved (resolveWhen: first)" : "every member resolved (resolveWhen: all)");
    return { ...resolved, events: [...events, ...resolved.events] };
  }
  return { incident, state, events, actions: [], note: null };
}

/**
 * A member's state changed. `line` is what its ticket should read (null: nothing, e.g. while the
 * group flaps). A resolved problem takes no more changes: a member firing again reopens it (a
 * flapping-aware group, within `within`) or opens a new one (the caller's to do).
 */
export function memberChanged(problem: { incident: Incident; state: ProblemState }, member: { incidentId: string; state: "open" | "resolved" }, line: string | null, now: string): ProblemDecision {
  if (problem.incident.state === "resolved") return { ...problem, events: [], actions: [], note: null };
  const delta = member.state === "open" ? 1 : -1;
  let state: ProblemState = { ...problem.state, open: Math.max(0, Math.min(problem.state.members, problem.state.open + delta)) };
  state = { ...state, shown: state.shown.map((m) => (m.incidentId === member.incidentId ? { ...m, state: member.state } : m)) };
  if (line !== null) state = addLine(state, line);
  const events = [event("member_changed", now, { incidentId: member.incidentId, state: member.state, open: state.open, members: state.members })];
  if (resolves(state, member.state === "resolved")) {
    const why = state.resolveWhen === "first" ? "a member resolved (resolveWhen: first)" : "every member resolved (resolveWhen: all)";
    const resolved = resolveProblem(problem.incident, state, now, why);
    return { ...resolved, events: [...events, ...resolved.events] };
  }
  return { incident: withText(problem.incident, state), state, events, actions: [], note: null };
}

function pendingText(state: ProblemState): string {
  const more = state.pendingMore > 0 ? [`… and ${state.pendingMore} more changes.`] : [];
  return [`${state.open} of ${state.members} alerts firing. Changes since the last update:`, ...state.pending, ...more].join("\n");
}

/** The timer: the ticket opens when groupWait is over, and gathered changes go out once per groupInterval. */
export function problemDue(problem: { incident: Incident; state: ProblemState }, now: string): ProblemDecision {
  const { incident, state } = problem;
  if (state.flap?.since && state.flapping) {
    const left = leaveFlapping(state.flap, state.flapping, now);
    if (left.ended) {
      // Quiet again: the ticket gets the group's state as it is, with a word on why.
      const is = incident.state === "open" ? "open" : "resolved";
      const change: ProblemAction[] = state.told === is ? [] : is === "open" ? ["reopen"] : ["resolve"];
      const next: ProblemState = { ...state, flap: left.state, told: is, pending: [], pendingMore: 0 };
      return {
        incident: withText(incident, next),
        state: next,
        events: [event("flapping_ended", now, { state: is })],
        actions: ["update", ...change],
        note: `No longer flapping: quiet for ${Math.round(state.flapping.quietForMs / 60_000)} min; ${state.open} of ${state.members} alerts firing.`,
      };
    }
  }
  if (incident.state === "resolved") return { incident, state: { ...state, waitUntil: null, nextUpdateAt: null }, events: [], actions: [], note: null };
  if (!state.sent) {
    if (state.waitUntil !== null && instant(now) < instant(state.waitUntil)) return { incident, state, events: [], actions: [], note: null };
    const next: ProblemState = { ...state, sent: true, told: "open", waitUntil: null, nextUpdateAt: iso(instant(now) + state.groupIntervalMs), pending: [], pendingMore: 0 };
    return { incident: withText(incident, next), state: next, events: [event("notified", now, { action: "open", members: next.members, open: next.open })], actions: ["open"], note: null };
  }
  if (state.pending.length + state.pendingMore === 0) return { incident, state, events: [], actions: [], note: null };
  if (state.nextUpdateAt !== null && instant(now) < instant(state.nextUpdateAt)) return { incident, state, events: [], actions: [], note: null };
  const note = pendingText(state);
  const next: ProblemState = { ...state, nextUpdateAt: iso(instant(now) + state.groupIntervalMs), pending: [], pendingMore: 0 };
  return { incident: withText(incident, next), state: next, events: [event("notified", now, { action: "update", lines: state.pending.length + state.pendingMore })], actions: ["update"], note };
}

/** When the timer must look at a problem next, or null. */
export function problemDueAt(incident: Incident, state: ProblemState): string | null {
  if (state.flap?.since && state.flapping) return flapQuietUntil(state.flap, state.flapping);
  if (incident.state === "resolved") return null;
  if (!state.sent) return state.waitUntil;
  return state.pending.length + state.pendingMore > 0 ? state.nextUpdateAt : null;
}
