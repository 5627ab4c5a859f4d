/**
 * Admission and routes through explain(): first match wins (routes: unless `continue`), no rules
 * means today's behaviour, and each connector gets the fields its route sets, in its own terms.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { explain } from "../../../receiver/src/routing/explain.ts";
import { loadRoutingRules, noRoutingRules } from "../../../receiver/src/routing/load-rules.ts";
import { alertOn, environmentConfigs, rulesFrom, sample } from "./routing-support.ts";
import { fixtureNames } from "../../support/fixtures.ts";

const NOW = new Date("2026-05-05T10:00:00Z");
const SUB = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e";
const TARGET = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1`;
const SEVERITIES = ["Sev0", "Sev1", "Sev2", "Sev3", "Sev4"] as const;

/** Three declared connectors: two ServiceNow instances and a BMC Helix one. */
const CONNECTORS = {
  "snow-a": { kind: "servicenow", url: "https://a.service-now.com", auth: { username: "svc", passwordEnv: "SNOW_A" } },
  "snow-b": { kind: "servicenow", url: "https://b.service-now.com", mode: "table", auth: { clientId: "c", clientSecretEnv: "SNOW_B" } },
  helix: { kind: "bmc-helix", url: "https://h-restapi.onbmc.com", auth: { username: "svc", passwordEnv: "HELIX" }, firstName: "Azure", lastName: "Monitor" },
};
const SECRETS = { SNOW_A: "a-secret", SNOW_B: "b-secret", HELIX: "h-secret" };
const NAMES = Object.keys(CONNECTORS);

const severity = fc.constantFrom(...SEVERITIES);
const severitySet = fc.uniqueArray(severity, { minLength: 1, maxLength: 3 });

describe("admission", () => {
  it("takes the action of the FIRST rule that matches, else the default (property)", () => {
    const rule = fc.record({ severities: severitySet, action: fc.constantFrom("admit", "reject") });
    fc.assert(
      fc.property(fc.array(rule, { minLength: 1, maxLength: 6 }), fc.constantFrom("admit", "reject"), severity, (rules, fallback, sev) => {
        // A default equal to every rule's action is refused at load; keep the generated policy loadable.
        fc.pre(rules.some((r) => r.action !== fallback));
        const doc = { admission: { default: fallback, rules: rules.map((r, i) => ({ name: `rule-${i}`, match: { severities: r.severities }, action: r.action })) } };
        const result = explain(rulesFrom(JSON.stringify(doc)), alertOn([TARGET], { severity: sev }), NOW);
        const first = rules.findIndex((r) => r.severities.includes(sev));
        expect(result.admission).toEqual(first >= 0 ? { decision: rules[first]!.action, rule: `rule-${first}` } : { decision: fallback, rule: null });
        expect(result.admitted).toBe(result.admission.decision === "admit");
      }),
    );
  });

  it("sends nothing for a rejected alert and says which rule rejected it", () => {
    const rules = rulesFrom(
      JSON.stringify({
        admission: { default: "admit", rules: [{ name: "no-sandbox", match: { resourceGroups: ["sandbox-*"] }, action: "reject" }] },
        maintenance: [{ name: "always", from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z" }],
      }),
      {},
      environmentConfigs({ servicenow: true }),
    );
    const result = explain(rules, alertOn([`/subscriptions/${SUB}/resourceGroups/Sandbox-42/providers/Microsoft.Web/sites/app`]), NOW);
    expect(result).toMatchObject({
      admitted: false,
      admission: { decision: "reject", rule: "no-sandbox" },
      routes: [],
      connectors: [],
      deliveries: [],
      maintenance: { held: false, window: null, until: null },
    });
    expect(result.explanation).toContain('admission: rule "no-sandbox" matches (resource group sandbox-42 matches "sandbox-*"), so the alert is rejected');
  });
});

describe("routes", () => {
  it("go to the first matching route's connectors, and on through routes that continue (property)", () => {
    const route = fc.record({ severities: severitySet, to: fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }), continue: fc.boolean() });
    fc.assert(
      fc.property(fc.array(route, { minLength: 1, maxLength: 6 }), severity, (routes, sev) => {
        const doc = { connectors: CONNECTORS, routes: routes.map((r, i) => ({ name: `route-${i}`, match: { severities: r.severities }, to: r.to, continue: r.continue })) };
        const result = explain(rulesFrom(JSON.stringify(doc), SECRETS), alertOn([TARGET], { severity: sev }), NOW);

        const matched: number[] = [];
        for (const [i, r] of routes.entries()) {
          if (!r.severities.includes(sev)) continue;
          matched.push(i);
          if (!r.continue) break;
        }
        expect(result.routes.map((r) => r.name)).toEqual(matched.map((i) => `route-${i}`));
        const chosen = [...new Set(matched.flatMap((i) => routes[i]!.to))];
        expect(result.connectors).toEqual(chosen);
        // Each connector once, attributed to the first matching route that named it.
        expect(result.deliveries.map((d) => [d.connector, d.route])).toEqual(chosen.map((c) => [c, `route-${matched.find((i) => routes[i]!.to.includes(c))}`]));
      }),
    );
  });

  it("send nowhere when routes exist and none matches, and say so", () => {
    const doc = { connectors: CONNECTORS, routes: [{ name: "urgent", match: { severities: ["Sev0"] }, to: ["snow-a"] }] };
    const result = explain(rulesFrom(JSON.stringify(doc), SECRETS), alertOn([TARGET], { severity: "Sev3" }), NOW);
    expect(result).toMatchObject({ admitted: true, routes: [], connectors: [], deliveries: [] });
    expect(result.explanation).toEqual(
      expect.arrayContaining([
        'routes: route "urgent" does not match: severity Sev3 is not "Sev0"',
        "routes: no route matches, so no connector gets the incident; it stays in the receiver's ledger",
      ]),
    );
  });

  // The contracts: ServiceNow's incident fields (assignment_group, urgency, impact; urgency and impact
  // take 1 - High, 2 - Medium, 3 - Low: ServiceNow docs, "Define priority lookup rules"), and BMC Helix
  // HPD:IncidentInterface_Create's "Assigned Group", Urgency "1-Critical" … "4-Low" and Impact
  // "1-Extensive/Widespread" … "4-Minor/Localized" (BMC Helix ITSM, "The REST API references").
  it("set each connector's fields in its own terms and under its API's field names", () => {
    const doc = {
      connectors: CONNECTORS,
      routes: [
        { name: "to-helix", to: ["helix"], set: { assignedGroup: "Network Operations", urgency: 2, impact: "3-Moderate/Limited" }, continue: true },
        { name: "to-snow", to: ["snow-a", "helix"], set: { urgency: 1 } },
      ],
    };
    const result = explain(rulesFrom(JSON.stringify(doc), SECRETS), alertOn([TARGET]), NOW);
    expect(result.deliveries).toEqual([
      {
        connector: "helix",
        route: "to-helix",
        profile: "bmc-helix",
        set: { assignedGroup: "Network Operations", urgency: "2-High", impact: "3-Moderate/Limited" },
        fields: { "Assigned Group": "Network Operations", Urgency: "2-High", Impact: "3-Moderate/Limited" },
      },
      { connector: "snow-a", route: "to-snow", profile: "servicenow-table", set: { urgency: "1" }, fields: { urgency: "1" } },
    ]);
    expect(result.routes).toEqual([
      { name: "to-helix", connectors: ["helix"], set: { assignedGroup: "Network Operations", urgency: 2, impact: "3-Moderate/Limited" }, onRefireAfterClose: "new" },
      { name: "to-snow", connectors: ["snow-a", "helix"], set: { urgency: 1 }, onRefireAfterClose: "new" },
    ]);
    expect(result.explanation).toContain(
      'routes: route "to-snow" matches (it has no match fields, so every alert matches): to snow-a, helix with urgency 1 (helix already chosen by an earlier route, whose fields stand)',
    );
  });

  it("take a field YAML reads as a number as the text it is", () => {
    const doc = { connectors: CONNECTORS, routes: [{ name: "r", to: ["snow-a"], set: { assignmentGroup: 4711 } }] };
    expect(explain(rulesFrom(JSON.stringify(doc), SECRETS), alertOn([TARGET]), NOW).deliveries[0]!.fields).toEqual({ assignment_group: "4711" });
  });
});

describe("no rules", () => {
  it("admits every alert and sends it to every connector, holding nothing (property over the published samples)", () => {
    const kinds = fc.record({ servicenow: fc.boolean(), bmcHelix: fc.boolean() });
    fc.assert(
      fc.property(fc.constantFrom(...fixtureNames()), kinds, fc.date({ min: new Date("2020-01-01"), max: new Date("2035-01-01"), noInvalidDate: true }), (name, which, now) => {
        const environment = environmentConfigs(which);
        const rules = loadRoutingRules({}, environment);
        expect(rules).toEqual(noRoutingRules(environment));
        const result = explain(rules, sample(name), now);
        const expected = which.servicenow && which.bmcHelix ? ["default", "default-bmc-helix"] : which.servicenow || which.bmcHelix ? ["default"] : [];
        expect(result).toMatchObject({ admitted: true, admission: { decision: "admit", rule: null }, routes: [], connectors: expected, maintenance: { held: false } });
        expect(result.deliveries.map((d) => ({ route: d.route, set: d.set }))).toEqual(expected.map(() => ({ route: null, set: {} })));
      }),
      { numRuns: 50 },
    );
  });

  it("keeps today's connectors when the rules only declare maintenance", () => {
    const rules = rulesFrom('maintenance: [{ name: freeze, from: "2026-12-20T00:00:00Z", to: "2027-01-04T00:00:00Z" }]', {}, environmentConfigs({ servicenow: true }));
    const result = explain(rules, sample("metric-static-fired.json"), NOW);
    expect(result).toMatchObject({ admitted: true, connectors: ["default"], maintenance: { held: false } });
  });
});
