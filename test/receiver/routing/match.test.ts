/**
 * Matchers: lists mean any of, fields mean all of, ids ignore case, `*`/`?` globs, and an alert
 * with several targets matches when one target satisfies every resource field.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileMatcher, type MatchSpec } from "../../../receiver/src/routing/match.ts";
import type { Problem } from "../../../receiver/src/routing/problems.ts";
import { routingSubject } from "../../../receiver/src/routing/subject.ts";
import type { NormalisedAlert } from "../../../receiver/src/alerts/normalise.ts";
import { alertOn, sample } from "./routing-support.ts";

function matcher(spec: MatchSpec) {
  const problems: Problem[] = [];
  const compiled = compileMatcher(spec, ["match"], problems);
  expect(problems).toEqual([]);
  return compiled;
}

function matches(spec: MatchSpec, alert: NormalisedAlert): boolean {
  return matcher(spec).test(routingSubject(alert)).matched;
}

const SUB_A = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e";
const SUB_B = "0b8f2a34-6c1d-4e5f-9a7b-3c2d1e0f4a5b";
const vm = (sub: string, rg: string, name = "vm1") => `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;

const hex = fc.constantFrom(..."0123456789abcdef".split(""));
const guid = fc
  .tuple(...[8, 4, 4, 4, 12].map((n) => fc.array(hex, { minLength: n, maxLength: n }).map((a) => a.join(""))))
  .map((parts) => parts.join("-"));
/** Flags that recase a text: upper case where true. */
const casing = fc.array(fc.boolean(), { minLength: 64, maxLength: 64 });
const recase = (text: string, flags: boolean[]) => text.split("").map((c, i) => (flags[i] ? c.toUpperCase() : c.toLowerCase())).join("");

describe("a matcher on the published samples", () => {
  it("reads subscription, resource group and type from the target id, ignoring case", () => {
    const alert = sample("metric-static-fired.json"); // target .../resourcegroups/test-RG/providers/microsoft.storage/storageaccounts/…
    expect(matches({ subscriptions: [SUB_A.toUpperCase()] }, alert)).toBe(true);
    expect(matches({ resourceGroups: ["TEST-rg"] }, alert)).toBe(true);
    expect(matches({ resourceTypes: ["Microsoft.Storage/storageAccounts"] }, alert)).toBe(true);
    expect(matches({ resourceTypes: ["Microsoft.Compute/*"] }, alert)).toBe(false);
    expect(matches({ alertRules: ["TEST-METRIC*"] }, alert)).toBe(true);
    expect(matches({ monitoringServices: ["platform"] }, alert)).toBe(true);
    expect(matches({ customProperties: { CUSTOMKEY1: "VALUE1" } }, alert)).toBe(true);
    expect(matches({ customProperties: { customKey1: ["other", "value*"] } }, alert)).toBe(true);
    expect(matches({ customProperties: { missing: "*" } }, alert)).toBe(false);
  });

  it("folds Azure's two spellings of the activity-log signal type", () => {
    const serviceHealth = sample("servicehealth-incident-fired.json"); // signalType "ActivityLog"
    const administrative = sample("activitylog-administrative-fired.json"); // signalType "Activity Log"
    for (const alert of [serviceHealth, administrative]) {
      expect(matches({ signalTypes: ["Activity Log"] }, alert)).toBe(true);
      expect(matches({ signalTypes: ["ActivityLog"] }, alert)).toBe(true);
      expect(matches({ signalTypes: ["Metric"] }, alert)).toBe(false);
    }
    expect(matches({ monitoringServices: ["Activity Log - *"] }, administrative)).toBe(true);
    expect(matches({ monitoringServices: ["Activity Log - *"] }, serviceHealth)).toBe(false);
  });

  it("matches a subscription-level target (service health) by subscription, never by resource group or type", () => {
    const alert = sample("servicehealth-incident-fired.json"); // alertTargetIDs: ["/subscriptions/aaaa…"]
    expect(matches({ subscriptions: [SUB_A] }, alert)).toBe(true);
    expect(matches({ resourceGroups: ["*"] }, alert)).toBe(false);
    expect(matches({ resourceTypes: ["*"] }, alert)).toBe(false);
  });

  it("takes a budget alert's subscription from its alert id, and severity `none` for its missing severity", () => {
    const budget = sample("budget-forecasted-fired.json"); // null targets, rule and severity
    expect(matches({ subscriptions: [SUB_A] }, budget)).toBe(true);
    expect(matches({ subscriptions: [SUB_B] }, budget)).toBe(false);
    expect(matches({ severities: ["none"] }, budget)).toBe(true);
    expect(matches({ severities: ["Sev4"] }, budget)).toBe(false);
    expect(matches({ resourceGroups: ["*"] }, budget)).toBe(false);
    expect(matches({ alertRules: ["*"] }, budget)).toBe(false);
  });

  it("uses the alert rule's scope when the alert names no target, without taking the rule's type for the resource's", () => {
    const ruleId = `/subscriptions/${SUB_B}/resourceGroups/rg-monitoring/providers/microsoft.insights/scheduledqueryrules/Failed-Logins`;
    const alert = sample("logalertsv2-fired.json", { alertTargetIDs: [], alertRuleID: ruleId });
    expect(matches({ subscriptions: [SUB_B], resourceGroups: ["rg-monitoring"] }, alert)).toBe(true);
    expect(matches({ resourceTypes: ["microsoft.insights/*"] }, alert)).toBe(false);
    expect(matches({ alertRules: [ruleId.toUpperCase()] }, alert)).toBe(true);
    expect(matches({ alertRules: [`/subscriptions/${SUB_B}/*/failed-logins`] }, alert)).toBe(true);
  });

  it("compares ARM-id patterns with alertRuleID and says so when the payload carries none", () => {
    const alert = sample("metric-static-fired.json"); // no alertRuleID
    const outcome = matcher({ alertRules: [`/subscriptions/${SUB_A}/*`] }).test(routingSubject(alert));
    expect(outcome.matched).toBe(false);
    expect(!outcome.matched && outcome.reason).toContain("carries no alertRuleID");
  });
});

describe("matcher semantics (properties)", () => {
  it("compares subscription ids and resource group names ignoring case, both in the rule and in the alert", () => {
    fc.assert(
      fc.property(guid, guid, fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), casing, casing, casing, (sub, other, rg, specCase, targetCase, rgCase) => {
        const target = vm(recase(sub, targetCase), recase(rg, rgCase));
        expect(matches({ subscriptions: [recase(sub, specCase)], resourceGroups: [rg.toUpperCase()] }, alertOn([target]))).toBe(true);
        expect(matches({ subscriptions: [recase(sub, specCase)] }, alertOn([vm(other, rg)]))).toBe(sub === other);
      }),
    );
  });

  it("treats * as any run of characters (across `/`), ? as one character, and everything else literally", () => {
    const segment = fc.stringMatching(/^[a-z0-9.()+-]{1,12}$/);
    fc.assert(
      fc.property(segment, segment, segment, (namespace, type, name) => {
        const alert = alertOn([`/subscriptions/${SUB_A}/resourceGroups/rg/providers/${namespace}/${type}/${name}/child/${name}`]);
        const full = `${namespace}/${type}/child`;
        expect(matches({ resourceTypes: [full] }, alert)).toBe(true);
        expect(matches({ resourceTypes: [`${namespace}/*`] }, alert)).toBe(true);
        expect(matches({ resourceTypes: ["*/child"] }, alert)).toBe(true);
        expect(matches({ resourceTypes: [full.replace(/^./, "?")] }, alert)).toBe(true);
        expect(matches({ resourceTypes: [`?${full}`] }, alert)).toBe(false);
        expect(matches({ resourceTypes: [`${full}x`] }, alert)).toBe(false);
      }),
    );
    // A dot in a pattern is a dot, not "any character".
    expect(matches({ resourceTypes: ["microsoft.storage/storageaccounts"] }, alertOn([`/subscriptions/${SUB_A}/resourceGroups/rg/providers/microsoftXstorage/storageaccounts/s`]))).toBe(false);
  });

  it("matches an alert with several targets when ONE target satisfies every resource field", () => {
    const target = fc.record({ sub: fc.constantFrom(SUB_A, SUB_B), rg: fc.constantFrom("rg-app", "rg-data", "rg-net") });
    fc.assert(
      fc.property(fc.array(target, { minLength: 1, maxLength: 4 }), target, (targets, wanted) => {
        const alert = alertOn(targets.map((t, i) => vm(t.sub, t.rg, `vm${i}`)));
        const expected = targets.some((t) => t.sub === wanted.sub && t.rg === wanted.rg);
        expect(matches({ subscriptions: [wanted.sub], resourceGroups: [wanted.rg] }, alert)).toBe(expected);
        // Each field alone is satisfied by any target.
        expect(matches({ subscriptions: [wanted.sub] }, alert)).toBe(targets.some((t) => t.sub === wanted.sub));
      }),
    );
  });

  it("needs every field it names (all of) and one entry of each list (any of)", () => {
    const severity = fc.constantFrom("Sev0", "Sev1", "Sev2", "Sev3", "Sev4");
    const condition = fc.constantFrom("Fired", "Resolved");
    const list = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.uniqueArray(arb, { minLength: 1, maxLength: 3 }), { nil: undefined });
    fc.assert(
      fc.property(severity, condition, list(severity), list(condition), (sev, cond, severities, conditions) => {
        const alert = alertOn([vm(SUB_A, "rg")], { severity: sev, monitorCondition: cond, ...(cond === "Resolved" ? { resolvedDateTime: "2025-04-15T18:30:00Z" } : {}) });
        const spec: MatchSpec = { ...(severities ? { severities } : {}), ...(conditions ? { monitorConditions: conditions } : {}) };
        const expected = (severities ?? [sev]).includes(sev) && (conditions ?? [cond]).includes(cond);
        expect(matches(spec, alert)).toBe(expected);
      }),
    );
  });
});

describe("matcher checks at load", () => {
  it.each([
    [{ subscriptions: ["Production"] }, ["match", "subscriptions", 0], "not names"],
    [{ resourceGroups: [`/subscriptions/${SUB_A}/resourceGroups/rg`] }, ["match", "resourceGroups", 0], "resource group name"],
    [{ resourceTypes: ["virtualMachines"] }, ["match", "resourceTypes", 0], "Microsoft.Compute/virtualMachines"],
    [{ resourceGroups: ["rg-[ab]"] }, ["match", "resourceGroups", 0], "not supported"],
    [{ monitoringServices: ["{Platform,Prometheus}"] }, ["match", "monitoringServices", 0], "not supported"],
    [{ alertRules: ["/providers/x"] }, ["match", "alertRules", 0], "ARM id"],
    [{ customProperties: { team: [] } }, ["match", "customProperties", "team"], "must name a value"],
    [{ customProperties: { team: { nested: true } } }, ["match", "customProperties", "team"], "must be text"],
    [{ customProperties: { team: ["ok", " padded "] } }, ["match", "customProperties", "team", 1], "spaces"],
  ] as [MatchSpec, (string | number)[], string][])("refuses %j", (spec, path, words) => {
    const problems: Problem[] = [];
    compileMatcher(spec, ["match"], problems);
    expect(problems).toEqual([expect.objectContaining({ path, message: expect.stringContaining(words) })]);
  });
});
