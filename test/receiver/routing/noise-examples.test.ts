/**
 * The three noise recipes docs/noise.md shows (test/fixtures/routing/) load from ROUTING_RULES_FILE
 * without problems or warnings, apply to the alerts their comments name (Azure's published sample
 * payloads), and do what they say when the noise state machine runs their settings.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { joinProblem, memberChanged, openProblem, problemDue, reopenProblem, stormAdmit, type ProblemDecision, type StormCounter } from "../../../receiver/src/incidents/noise.ts";
import { explain } from "../../../receiver/src/routing/explain.ts";
import { loadRoutingRules } from "../../../receiver/src/routing/load-rules.ts";
import { alertOn, sample } from "./routing-support.ts";

const recipe = (name: string) => loadRoutingRules({ ROUTING_RULES_FILE: fileURLToPath(new URL(`../../fixtures/routing/${name}`, import.meta.url)) }, []);
const SUB_A = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e";
const SUB_B = "5c7d9e1f-2a4b-4c6d-8e0f-1a3b5c7d9e2f";
const NOW = new Date("2026-05-06T09:00:00Z");
const vm = (sub: string, name: string) => `/subscriptions/${sub}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/${name}`;
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const member = (n: number) => ({ incidentId: `m${n}`, alertId: `a${n}`, title: `CPU on vm-${n}`, state: "open" as const, severity: "Sev3" as const });

describe("group-by-alert-rule-per-subscription.yaml", () => {
  const rules = recipe("group-by-alert-rule-per-subscription.yaml");

  it("loads without warnings and gives one group key per rule and subscription", () => {
    expect(rules.warnings).toEqual([]);
    const key = (targets: string[], essentials = {}) => explain(rules, alertOn(targets, { severity: "Sev3", ...essentials }), NOW).noise?.groupId ?? null;
    expect(key([vm(SUB_A, "web-1")])).toBe(key([vm(SUB_A, "web-2")]));
    expect(key([vm(SUB_A, "web-1")])).not.toBe(key([vm(SUB_B, "web-1")]));
    expect(key([vm(SUB_A, "web-1")])).not.toBe(key([vm(SUB_A, "web-1")], { alertRule: "disk-full", alertRuleID: null }));
    // Sev0/Sev1 and log alerts are not grouped: each keeps its own ticket.
    expect(key([vm(SUB_A, "web-1")], { severity: "Sev1" })).toBeNull();
    expect(explain(rules, sample("logalertsv2-fired.json"), NOW).noise).toBeNull();
  });

  it("opens one ticket 30 s after the first alert, adds later ones as one update per 5 minutes, and resolves with the last", () => {
    const noise = explain(rules, alertOn([vm(SUB_A, "web-1")], { severity: "Sev3" }), NOW).noise!;
    const s = sample("metric-static-fired.json");
    let d: ProblemDecision = openProblem({ kind: "group", alertId: "g", rule: noise.rule!, key: noise.groupKey!, resolveWhen: noise.resolveWhen, groupWaitMs: noise.groupWaitMs, groupIntervalMs: noise.groupIntervalMs, first: { ...s, state: "open", resolution: null, resolvedAt: null, last: { at: at(0), rank: 0, key: "k" } }, now: at(0) });
    for (let n = 0; n < 40; n++) d = joinProblem(d, member(n), at(n * 500));
    expect(problemDue(d, at(29_000)).actions).toEqual([]);
    d = problemDue(d, at(30_000));
    expect(d.actions).toEqual(["open"]);
    expect(d.incident.title).toBe(`40 alerts grouped by per-rule-per-subscription: ${noise.groupKey}`);
    for (let n = 40; n < 50; n++) d = joinProblem(d, member(n), at(60_000 + n));
    expect(problemDue(d, at(200_000)).actions).toEqual([]);
    d = problemDue(d, at(330_000));
    expect(d.actions).toEqual(["update"]);
    expect(d.note!.split("\n").filter((l) => l.startsWith("joined"))).toHaveLength(10);
    for (let n = 0; n < 50; n++) d = memberChanged(d, { incidentId: `m${n}`, state: "resolved" }, `resolved: vm-${n}`, at(400_000 + n));
    expect(d.actions).toEqual(["resolve"]);
    expect(d.incident.state).toBe("resolved");
  });
});

describe("hold-flappy-vm-metric-alerts.yaml", () => {
  const rules = recipe("hold-flappy-vm-metric-alerts.yaml");

  it("loads without warnings (10 minutes is longer than Azure needs to resolve a metric alert) and holds VM metric alerts for 10 minutes", () => {
    expect(rules.warnings).toEqual([]);
    const result = explain(rules, alertOn([vm(SUB_A, "web-1")], { firedDateTime: NOW.toISOString() }), NOW);
    expect(result.noise).toMatchObject({ rule: "flappy-vm-metrics", holdUntil: at(600_000), groupBy: ["alertRule", "resource"], groupWaitMs: 0 });
    expect(result.explanation.join("\n")).toContain("resolved before then: transient, never sent");
    const storage = alertOn([`/subscriptions/${SUB_A}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1`]);
    expect(explain(rules, storage, NOW).noise).toBeNull();
  });

  it("keeps one ticket for a VM that keeps firing and resolving, told once that it flaps", () => {
    const noise = explain(rules, alertOn([vm(SUB_A, "web-1")]), NOW).noise!;
    const s = sample("metric-static-fired.json");
    let d: ProblemDecision = openProblem({ kind: "group", alertId: "g", rule: noise.rule!, key: noise.groupKey!, resolveWhen: noise.resolveWhen, groupWaitMs: noise.groupWaitMs, groupIntervalMs: noise.groupIntervalMs, flapping: noise.flapping, first: { ...s, state: "open", resolution: null, resolvedAt: null, last: { at: at(0), rank: 0, key: "k" } }, now: at(0) });
    d = problemDue(joinProblem(d, member(0), at(0)), at(0));
    const told: string[] = [...d.actions];
    for (let cycle = 1; cycle <= 6; cycle++) {
      d = memberChanged(d, { incidentId: `m${cycle - 1}`, state: "resolved" }, "resolved", at(cycle * 300_000));
      told.push(...d.actions);
      d = reopenProblem(d, at(cycle * 300_000 + 120_000));
      told.push(...d.actions);
      d = joinProblem(d, member(cycle), at(cycle * 300_000 + 120_000));
    }
    expect(told).toEqual(["open", "resolve", "reopen", "resolve", "update", "reopen"]);
    const quiet = problemDue(d, at(6 * 300_000 + 120_000 + 30 * 60_000));
    expect(quiet.events.map((e) => e.type)).toEqual(["flapping_ended"]);
  });
});

describe("storm-guard-regional-outage.yaml", () => {
  const rules = recipe("storm-guard-regional-outage.yaml");

  it("guards metric, log and resource health alerts, and leaves Service Health incidents alone", () => {
    expect(explain(rules, sample("metric-static-fired.json"), NOW).noise?.storm).toEqual({ name: "regional-outage", maxNewTickets: 20, perMs: 300_000, groupIntervalMs: 300_000 });
    expect(explain(rules, sample("logalertsv2-fired.json"), NOW).noise?.storm?.name).toBe("regional-outage");
    expect(explain(rules, sample("servicehealth-incident-fired.json"), NOW).noise).toBeNull();
  });

  it("lets 20 tickets through of 200 alerts in a minute, and again 20 once five minutes have passed", () => {
    const storm = explain(rules, sample("metric-static-fired.json"), NOW).noise!.storm!;
    let counter: StormCounter = { opened: [], incidentId: null };
    const admitted = (from: number, count: number) => {
      let n = 0;
      for (let i = 0; i < count; i++) {
        const outcome = stormAdmit(counter, storm, at(from + i * 300));
        counter = outcome.counter;
        if (outcome.admitted) n++;
      }
      return n;
    };
    expect(admitted(0, 200)).toBe(20);
    expect(admitted(360_000, 200)).toBe(20);
  });
});
