/**
 * Noise rules (routing/noise.ts): which entry applies, group keys, and the checks at start-up and
 * at `pulumi preview` — errors naming line and field, and warnings where a hold cannot do what its
 * author expects given Azure's own resolve timing, read from Microsoft's page (the fixture).
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkRules } from "../../../receiver/src/routing/check.ts";
import { explain } from "../../../receiver/src/routing/explain.ts";
import { AZURE_SOONEST_RESOLVE_MS, groupIdOf, groupKeyOf } from "../../../receiver/src/routing/noise.ts";
import { RoutingRulesError } from "../../../receiver/src/routing/problems.ts";
import { routingSubject } from "../../../receiver/src/routing/subject.ts";
import { alertOn, rulesFrom, sample } from "./routing-support.ts";

const SUB_A = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e";
const SUB_B = "5c7d9e1f-2a4b-4c6d-8e0f-1a3b5c7d9e2f";
const vm = (sub: string, name: string, group = "rg-app") => `/subscriptions/${sub}/resourceGroups/${group}/providers/Microsoft.Compute/virtualMachines/${name}`;
const NOW = new Date("2026-11-01T10:00:00Z");

describe("Azure's resolve timing (alerts-overview.md, Alerts and state)", () => {
  const page = readFileSync(fileURLToPath(new URL("../../fixtures/azure-monitor/docs/alerts-overview-alerts-and-state.md", import.meta.url)), "utf8");

  it("is what the warnings check: 3 consecutive checks for metric alerts (at 1 minute, the shortest), 10 minutes for 1-minute log alerts", () => {
    const metric = /\|Metric alerts\|The alert condition isn't met for (\w+) consecutive checks\.\|/.exec(page);
    const log = /\*\*1 minute\*\*: The alert condition isn't met for (\d+) minutes\./.exec(page);
    expect(metric?.[1]).toBe("three");
    expect(AZURE_SOONEST_RESOLVE_MS.metric).toBe(3 * 60_000);
    expect(Number(log?.[1]) * 60_000).toBe(AZURE_SOONEST_RESOLVE_MS.log);
    expect(page).toContain("All activity log alerts are stateless.");
  });
});

describe("checking noise and storm entries", () => {
  const text = [
    /*  1 */ "noise:",
    /*  2 */ "  - name: per-rule",
    /*  3 */ "    groupBy: [alertRule, subscriptions]",
    /*  4 */ "    groupWait: soon",
    /*  5 */ "    groupInterval: 2d",
    /*  6 */ "  - name: nothing",
    /*  7 */ "    match: { severities: [Sev4] }",
    /*  8 */ "  - name: hold-only",
    /*  9 */ "    holdFor: 2m",
    /* 10 */ "    resolveWhen: first",
    /* 11 */ "  - name: per-rule",
    /* 12 */ "    flapping: { changes: 1, within: 10m }",
    /* 13 */ "storm:",
    /* 14 */ "  - name: outage",
    /* 15 */ "    maxNewTickets: 0",
    /* 16 */ "    per: 5m",
    /* 17 */ "  - name: region",
    /* 18 */ "    maxNewTickets: 5",
    /* 19 */ "    per: forever",
  ].join("\n");

  it("names the line and field of every mistake at once", () => {
    let error: unknown;
    try {
      rulesFrom(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RoutingRulesError);
    const lines = (error as RoutingRulesError).problems.map((p) => `${p.line} ${p.path.join(".")} ${p.code}`);
    expect(lines).toEqual([
      "3 noise.0.groupBy.1 invalid_value",
      "4 noise.0.groupWait invalid_duration",
      "5 noise.0.groupInterval invalid_duration",
      "6 noise.1 missing_key",
      "10 noise.2.resolveWhen invalid_value",
      "11 noise.3.name duplicate_name",
      "12 noise.3.flapping.changes invalid_value",
      "15 storm.0.maxNewTickets invalid_value",
      "19 storm.1.per invalid_duration",
    ]);
    expect((error as RoutingRulesError).message).toContain("line 3, column 26: noise[0].groupBy[1] must be one of alertRule, subscription, resourceGroup, resourceType, resource, severity, monitoringService, signalType or customProperties.<key>, got \"subscriptions\"");
    expect((error as RoutingRulesError).message).toContain("line 5, column 20: noise[0].groupInterval must be between 1s and 24h, got \"2d\"");
    expect((error as RoutingRulesError).message).toContain("line 6, column 5: noise[1] does nothing: give it groupBy, holdFor or flapping");
  });

  it("warns, without refusing the rules, when holdFor is shorter than Azure needs to resolve what the entry takes", () => {
    const check = checkRules(["noise:", "  - name: any-hold", "    holdFor: 2m", "  - name: metric-hold", "    match: { signalTypes: [Metric] }", "    holdFor: 5m", "  - name: log-hold", "    match: { signalTypes: [Log] }", "    holdFor: 5m"].join("\n"));
    expect(check.problems).toEqual([]);
    expect(check.warnings.map((w) => `${w.line} ${w.path.join(".")} ${w.code}`)).toEqual([
      "3 noise.0.holdFor hold_shorter_than_azure_resolves",
      "3 noise.0.holdFor hold_on_stateless_alerts",
      "9 noise.2.holdFor hold_shorter_than_azure_resolves",
    ]);
    expect(check.warnings[0]!.message).toMatch(/a metric alert resolves only after 3 consecutive clean checks .*a log search alert at a 1-minute frequency resolves only after 10m.*hold for at least 10m/);
    expect(check.warnings[1]!.message).toMatch(/Azure never resolves them, so for them "2m" only delays the ticket/);
    expect(check.warnings[2]!.message).not.toMatch(/metric alert/);
  });

  it("tells a hold on activity-log alerts what it means there, whatever its length", () => {
    const check = checkRules(["noise:", "  - name: admin-ops", "    match: { monitoringServices: [\"Activity Log - *\"] }", "    holdFor: 1h"].join("\n"));
    expect(check.warnings.map((w) => w.code)).toEqual(["hold_on_stateless_alerts"]);
    expect(rulesFrom(["noise:", "  - name: admin-ops", "    match: { monitoringServices: [\"Activity Log - *\"] }", "    holdFor: 1h"].join("\n")).warnings).toHaveLength(1);
  });
});

describe("which entry applies, and the group key", () => {
  const rules = rulesFrom(
    [
      "noise:",
      "  - name: vm-cpu",
      "    match: { signalTypes: [Metric], resourceTypes: [Microsoft.Compute/virtualMachines] }",
      "    groupBy: [alertRule, subscription]",
      "  - name: catch-all",
      "    holdFor: 10m",
      "    match: { signalTypes: [Log] }",
      "  - name: series",
      "    match: { signalTypes: [Activity Log] }",
      "    flapping: { changes: 4, within: 30m }",
      "storm:",
      "  - name: outage",
      "    maxNewTickets: 20",
      "    per: 5m",
    ].join("\n"),
  );

  it("takes the first matching noise entry and the first matching storm guard, and explains both", () => {
    const result = explain(rules, alertOn([vm(SUB_A, "web-1")], { firedDateTime: NOW.toISOString() }), NOW);
    expect(result.noise).toMatchObject({ rule: "vm-cpu", groupBy: ["alertRule", "subscription"], groupWaitMs: 30_000, groupIntervalMs: 300_000, holdUntil: null, storm: { name: "outage", maxNewTickets: 20, perMs: 300_000 } });
    expect(result.noise!.groupKey).toMatch(new RegExp(`^alertRule=.+, subscription=${SUB_A}$`));
    expect(result.explanation.filter((l) => l.startsWith("noise:"))).toHaveLength(3);
    const log = explain(rules, sample("logalertsv2-fired.json", { firedDateTime: NOW.toISOString() }), NOW);
    expect(log.noise).toMatchObject({ rule: "catch-all", groupKey: null, holdForMs: 600_000, holdUntil: "2026-11-01T10:10:00.000Z" });
  });

  it("groups a flapping entry without groupBy by rule and resource, its ticket at once", () => {
    const result = explain(rules, sample("activitylog-administrative-fired.json"), NOW);
    expect(result.noise).toMatchObject({ rule: "series", groupBy: ["alertRule", "resource"], groupWaitMs: 0 });
  });

  const field = fc.constantFrom("alertRule", "subscription", "resourceGroup", "resource", "severity");
  it("gives alerts the same key exactly when the fields grouped by agree (property)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(field, { maxLength: 4 }), fc.tuple(fc.constantFrom(SUB_A, SUB_B), fc.constantFrom("web-1", "WEB-2"), fc.constantFrom("rg-a", "rg-b"), fc.constantFrom("cpu", "disk"), fc.constantFrom("Sev1", "Sev3")), fc.tuple(fc.constantFrom(SUB_A, SUB_B), fc.constantFrom("web-1", "WEB-2"), fc.constantFrom("rg-a", "rg-b"), fc.constantFrom("cpu", "disk"), fc.constantFrom("Sev1", "Sev3")), (groupBy, a, b) => {
        const subject = ([sub, name, group, rule, severity]: typeof a) =>
          routingSubject(alertOn([vm(sub, name, group)], { alertRule: rule, alertRuleID: null, severity, alertId: `/subscriptions/${sub}/providers/Microsoft.AlertsManagement/alerts/${Math.random()}` }));
        const same: Record<string, boolean> = {
          alertRule: a[3] === b[3],
          subscription: a[0] === b[0],
          resourceGroup: a[0] === b[0] && a[2] === b[2],
          resource: a[0] === b[0] && a[2] === b[2] && a[1].toLowerCase() === b[1].toLowerCase(),
          severity: a[4] === b[4],
        };
        const keyA = groupKeyOf(groupBy as never, subject(a));
        const keyB = groupKeyOf(groupBy as never, subject(b));
        expect(keyA === keyB).toBe(groupBy.every((f) => same[f]));
        // The group's identity also parts alerts routed to different tools.
        expect(groupIdOf("r", keyA, ["snow"]) === groupIdOf("r", keyB, ["snow"])).toBe(keyA === keyB);
        expect(groupIdOf("r", keyA, ["snow"])).not.toBe(groupIdOf("r", keyA, ["helix"]));
      }),
    );
  });
});
