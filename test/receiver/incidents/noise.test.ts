/**
 * The noise state machine (incidents/noise.ts), pure and property-tested: storm budgets across
 * restarts, flapping counts against a brute-force oracle, and groups — one ticket, updates no more
 * often than groupInterval, the open count and resolveWhen — for any sequence of member changes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Incident } from "../../../receiver/src/incidents/lifecycle.ts";
import {
  flapQuietUntil,
  flapStep,
  joinProblem,
  leaveFlapping,
  memberChanged,
  openProblem,
  problemDue,
  problemDueAt,
  reopenProblem,
  stormAdmit,
  type FlapState,
  type ProblemDecision,
  type ResolveWhen,
  type StormCounter,
} from "../../../receiver/src/incidents/noise.ts";

const T0 = Date.parse("2026-11-01T10:00:00Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();
/** Non-decreasing offsets in ms, as a ledger's clock gives them. */
const times = (max: number) => fc.array(fc.integer({ min: 0, max: 120_000 }), { maxLength: max }).map((steps) => steps.reduce<number[]>((acc, s) => [...acc, (acc.at(-1) ?? 0) + s], []));
/** A JSON round trip: what a restart (or another replica) reads back from the store. */
const stored = <T>(value: T): T => JSON.parse(JSON.stringify(value));

describe("storm guards", () => {
  it("never let more than maxNewTickets through within any window of `per`, and refuse only when that many went through, across restarts (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1000, max: 300_000 }), times(60), fc.array(fc.boolean(), { maxLength: 60 }), (max, perMs, offsets, restarts) => {
        let counter: StormCounter = { opened: [], incidentId: null };
        const admitted: number[] = [];
        offsets.forEach((offset, i) => {
          if (restarts[i]) counter = stored(counter);
          const outcome = stormAdmit(counter, { maxNewTickets: max, perMs }, at(offset));
          counter = outcome.counter;
          const recent = admitted.filter((t) => t > offset - perMs).length;
          // Refused exactly when `max` tickets opened within the last `per`.
          expect(outcome.admitted).toBe(recent < max);
          if (outcome.admitted) admitted.push(offset);
          expect(counter.opened.length).toBeLessThanOrEqual(max);
        });
        for (const start of admitted) expect(admitted.filter((t) => t >= start && t < start + perMs).length).toBeLessThanOrEqual(max);
      }),
    );
  });

  it("counts a lagging replica's clock as the latest, so a window never reopens early", () => {
    const rule = { maxNewTickets: 2, perMs: 60_000 };
    let counter: StormCounter = { opened: [at(0), at(1000)], incidentId: null };
    const lagging = stormAdmit(counter, rule, at(-30_000));
    expect(lagging.admitted).toBe(false);
    counter = lagging.counter;
    expect(stormAdmit(counter, rule, at(60_001)).admitted).toBe(true);
  });
});

describe("flapping", () => {
  const config = (changes: number, withinMs: number) => ({ changes, withinMs, quietForMs: 60_000 });

  it("starts flapping exactly when `changes` changes fall within `within`, once, and remembers at most `changes` of them (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1000, max: 600_000 }), times(40), fc.array(fc.boolean(), { maxLength: 40 }), (changes, withinMs, offsets, restarts) => {
        let state: FlapState | null = null;
        let startedAt: number | null = null;
        offsets.forEach((offset, i) => {
          if (restarts[i] && state) state = stored(state);
          const step = flapStep(state, config(changes, withinMs), [at(offset)]);
          state = step.state;
          // Oracle: the `changes` latest changes (this one included) span less than `within`; it starts once.
          const seen = offsets.slice(0, i + 1);
          const oracle = seen.length >= changes && offset - seen[seen.length - changes]! < withinMs;
          const starts = startedAt === null && oracle;
          if (starts) startedAt = i;
          expect(step.started).toBe(starts);
          if (starts) expect(step.state.since).toBe(at(offset));
          expect(state.since !== null).toBe(startedAt !== null);
          expect(state.changes.length).toBeLessThanOrEqual(changes);
        });
      }),
    );
  });

  it("stops only after quietFor without a change", () => {
    const rule = { changes: 2, withinMs: 60_000, quietForMs: 30_000 };
    const { state } = flapStep(flapStep(null, rule, [at(0)]).state, rule, [at(10_000)]);
    expect(state.since).toBe(at(10_000));
    expect(flapQuietUntil(state, rule)).toBe(at(40_000));
    expect(leaveFlapping(state, rule, at(39_999)).ended).toBe(false);
    expect(leaveFlapping(state, rule, at(40_000))).toEqual({ state: { changes: [], since: null }, ended: true });
  });
});

const first: Incident = {
  alertId: "a0",
  state: "open",
  resolution: null,
  severity: "Sev3",
  title: "CPU high on vm-0",
  description: null,
  monitoringService: "Platform",
  signalType: "Metric",
  family: "metric",
  alertRule: "cpu-high",
  firedAt: at(0),
  resolvedAt: null,
  last: { at: at(0), rank: 0, key: "k" },
};

type Step = { kind: "join"; member: number } | { kind: "change"; member: number; open: boolean } | { kind: "tick" };
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("join" as const), member: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("change" as const), member: fc.integer({ min: 0, max: 7 }), open: fc.boolean() }),
  fc.constant({ kind: "tick" as const }),
);

describe("groups", () => {
  it("open one ticket after groupWait, send updates no more often than groupInterval, count open members, resolve by resolveWhen, across restarts (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ResolveWhen>("all", "first", "never"),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 1000, max: 60_000 }),
        fc.array(fc.tuple(step, fc.integer({ min: 0, max: 30_000 }), fc.boolean()), { maxLength: 50 }),
        (resolveWhen, groupWaitMs, groupIntervalMs, steps) => {
          let decision: ProblemDecision = openProblem({ kind: "group", alertId: "g", rule: "per-rule", key: "alertRule=cpu-high", resolveWhen, groupWaitMs, groupIntervalMs, first, now: at(0) });
          let problem = { incident: decision.incident, state: decision.state };
          const members = new Map<number, boolean>();
          const actions: Array<{ action: string; at: number }> = [];
          let now = 0;
          let resolvedOnce = false;
          const resolved = () => problem.incident.state === "resolved";
          const apply = (d: ProblemDecision) => {
            decision = d;
            problem = { incident: d.incident, state: d.state };
            for (const action of d.actions) actions.push({ action, at: now });
          };
          for (const [s, advance, restart] of steps) {
            now += advance;
            if (restart) problem = stored(problem);
            if (resolved()) break; // A member firing again opens a new group: the caller's.
            if (s.kind === "join" && !members.has(s.member)) {
              members.set(s.member, true);
              apply(joinProblem(problem, { incidentId: `m${s.member}`, alertId: `a${s.member}`, title: `CPU high on vm-${s.member}`, state: "open", severity: "Sev2" }, at(now)));
            } else if (s.kind === "change" && members.has(s.member) && members.get(s.member) !== s.open) {
              members.set(s.member, s.open);
              apply(memberChanged(problem, { incidentId: `m${s.member}`, state: s.open ? "open" : "resolved" }, `${s.open ? "fired again" : "resolved"}: vm-${s.member}`, at(now)));
              if (resolved()) resolvedOnce = true;
            } else if (s.kind === "tick") {
              const due = problemDueAt(problem.incident, problem.state);
              apply(problemDue(problem, at(now)));
              if (due !== null && Date.parse(due) <= T0 + now && !problem.state.sent) throw new Error("due, yet the ticket did not open");
            }
            const open = [...members.values()].filter(Boolean).length;
            expect(problem.state.open).toBe(open);
            expect(problem.state.members).toBe(members.size);
          }
          const opens = actions.filter((a) => a.action === "open");
          expect(opens.length).toBeLessThanOrEqual(1);
          if (opens[0]) expect(opens[0].at).toBeGreaterThanOrEqual(groupWaitMs);
          // Nothing before the ticket opens, and an update never sooner than groupInterval after the previous one (or the open).
          const told = actions.filter((a) => a.action === "open" || a.action === "update");
          told.slice(1).forEach((a, i) => expect(a.at - told[i]!.at).toBeGreaterThanOrEqual(groupIntervalMs));
          expect(actions.filter((a) => a.action !== "open").every((a) => opens[0] !== undefined && a.at >= opens[0].at)).toBe(true);
          // resolveWhen: never resolves a `never` group; resolves at the first resolve (`first`) or when none is open (`all`).
          if (resolveWhen === "never") expect(resolvedOnce).toBe(false);
          if (resolvedOnce && resolveWhen === "all") expect(problem.state.open).toBe(0);
          expect(actions.filter((a) => a.action === "resolve").length).toBe(resolvedOnce && opens.length ? 1 : 0);
        },
      ),
    );
  });

  it("reopens a flapping-aware group on its ticket, tells its flapping once, and keeps the ticket open until quiet", () => {
    const flapping = { changes: 3, withinMs: 600_000, quietForMs: 60_000 };
    let d = openProblem({ kind: "group", alertId: "g", rule: "flappy", key: "k", resolveWhen: "all", groupWaitMs: 0, groupIntervalMs: 10_000, flapping, first, now: at(0) });
    d = joinProblem(d, { incidentId: "m0", alertId: "a0", title: "t", state: "open", severity: "Sev3" }, at(0));
    d = problemDue(d, at(0));
    expect(d.actions).toEqual(["open"]);
    const told: string[][] = [];
    let t = 0;
    for (let cycle = 1; cycle <= 4; cycle++) {
      t += 20_000;
      d = memberChanged(d, { incidentId: `m${cycle - 1}`, state: "resolved" }, "resolved", at(t));
      told.push(d.actions);
      t += 20_000;
      d = reopenProblem(d, at(t));
      told.push(d.actions);
      d = joinProblem(d, { incidentId: `m${cycle}`, alertId: `a${cycle}`, title: "t", state: "open", severity: "Sev3" }, at(t));
    }
    // resolve, reopen, then flapping (the third change): one update, the ticket kept open, nothing more.
    expect(told).toEqual([["resolve"], ["reopen"], ["update"], [], [], [], [], []]);
    expect(d.state.flap?.since).toBe(at(60_000));
    // Quiet `quietFor` after the last change: the timer looks then.
    expect(problemDueAt(d.incident, d.state)).toBe(at(t + 60_000));
    d = memberChanged(d, { incidentId: "m4", state: "resolved" }, "resolved", at(t + 1000));
    expect(d.actions).toEqual([]);
    const quiet = problemDue(d, at(t + 1000 + 60_000));
    expect(quiet.actions).toEqual(["update", "resolve"]);
    expect(quiet.note).toMatch(/No longer flapping/);
    expect(quiet.events.map((e) => e.type)).toEqual(["flapping_ended"]);
  });
});
