/**
 * The three example rule files the README shows (test/fixtures/routing/) load from
 * ROUTING_RULES_FILE and do what their comments say with Azure's published sample payloads.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { explain } from "../../../receiver/src/routing/explain.ts";
import { checkRules } from "../../../receiver/src/routing/check.ts";
import { loadRoutingRules } from "../../../receiver/src/routing/load-rules.ts";
import { alertOn, sample } from "./routing-support.ts";

const example = (name: string) => fileURLToPath(new URL(`../../fixtures/routing/${name}`, import.meta.url));
const PAYMENTS = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e";
const RETAIL = "5c7d9e1f-2a4b-4c6d-8e0f-1a3b5c7d9e2f";
const NOW = new Date("2026-05-06T09:00:00Z"); // a Wednesday, outside every window

describe("allow-list-by-subscription.yaml", () => {
  const rules = loadRoutingRules({ ROUTING_RULES_FILE: example("allow-list-by-subscription.yaml") }, []);
  const admission = (alert: ReturnType<typeof sample>) => explain(rules, alert, NOW).admission;

  it("admits alerts of the listed landing zones, whatever their shape", () => {
    expect(admission(sample("metric-static-fired.json"))).toEqual({ decision: "admit", rule: "landing-zones" });
    expect(admission(sample("servicehealth-incident-fired.json"))).toEqual({ decision: "admit", rule: "landing-zones" }); // a subscription-level target
    expect(admission(sample("budget-forecasted-fired.json"))).toEqual({ decision: "admit", rule: "landing-zones" }); // no target: the alert id's subscription
  });

  it("rejects every other subscription by default, and sandbox resource groups even in a listed one", () => {
    expect(admission(sample("logalertsv2-fired.json"))).toEqual({ decision: "reject", rule: null });
    const sandbox = alertOn([`/subscriptions/${PAYMENTS}/resourceGroups/sandbox-jdoe/providers/Microsoft.Compute/virtualMachines/try`]);
    const result = explain(rules, sandbox, NOW);
    expect(result).toMatchObject({ admitted: false, admission: { decision: "reject", rule: "no-sandbox-resource-groups" }, connectors: [] });
  });
});

describe("per-landing-zone-routing.yaml", () => {
  const env = { ROUTING_RULES_FILE: example("per-landing-zone-routing.yaml"), SNOW_CORP_PASSWORD: "corp", SNOW_RETAIL_CLIENT_SECRET: "retail", HELIX_PASSWORD: "helix" };
  const rules = loadRoutingRules(env, []);

  it("declares two ServiceNow instances and a BMC Helix one, with secrets from the variables they name", () => {
    expect(rules.connectors.map((c) => [c.name, c.config.kind, c.config.url])).toEqual([
      ["snow-corp", "servicenow", "https://contoso.service-now.com"],
      ["snow-retail", "servicenow", "https://contoso-retail.service-now.com"],
      ["helix-network", "bmc-helix", "https://contoso-restapi.onbmc.com"],
    ]);
    expect(rules.connectors[1]!.config).toMatchObject({ auth: { type: "oauth", clientSecret: "retail" }, urgencyBySeverity: { Sev2: "2", Sev4: "3", none: "3" } });
    expect(rules.connectors[2]!.config).toMatchObject({ auth: { password: "helix" }, firstName: "Azure", lastName: "Monitor" });
  });

  it("sends the payments landing zone's alerts to the corporate ServiceNow, urgent ones to the SRE group", () => {
    const routine = explain(rules, sample("metric-static-fired.json"), NOW); // Sev4
    expect(routine.deliveries).toEqual([
      {
        connector: "snow-corp",
        route: "payments",
        profile: "servicenow-table",
        set: { assignmentGroup: "Payments Operations", category: "Software" },
        fields: { assignment_group: "Payments Operations", category: "Software" },
      },
    ]);
    const urgent = explain(rules, sample("metric-static-fired.json", { severity: "Sev1" }), NOW);
    expect(urgent.deliveries).toEqual([
      { connector: "snow-corp", route: "payments-urgent", profile: "servicenow-table", set: { assignmentGroup: "Payments SRE", urgency: "1", impact: "1" }, fields: { assignment_group: "Payments SRE", urgency: "1", impact: "1" } },
    ]);
  });

  it("copies network alerts to the network team's BMC Helix and still routes them by landing zone", () => {
    const gateway = alertOn([`/subscriptions/${RETAIL}/resourceGroups/rg-edge/providers/Microsoft.Network/applicationGateways/agw-shop`]);
    const result = explain(rules, gateway, NOW);
    expect(result.routes.map((r) => r.name)).toEqual(["network-to-helix", "retail"]);
    expect(result.connectors).toEqual(["helix-network", "snow-retail"]);
    expect(result.deliveries[0]!.fields).toEqual({ "Assigned Support Company": "Contoso", "Assigned Support Organization": "IT Infrastructure", "Assigned Group": "Network Operations" });
  });

  it("catches what no landing zone route takes", () => {
    const result = explain(rules, sample("logalertsv2-fired.json"), NOW);
    expect(result.deliveries.map((d) => [d.connector, d.route, d.set])).toEqual([["snow-corp", "platform-catch-all", { assignmentGroup: "Cloud Platform" }]]);
  });
});

describe("weekly-patch-window.yaml", () => {
  const rules = loadRoutingRules({ ROUTING_RULES_FILE: example("weekly-patch-window.yaml") }, []);
  const vmAlert = sample("activitylog-administrative-fired.json"); // a VM in test-RG

  it("holds VM alerts from Saturday 22:00 to Sunday 02:00 Berlin time, in winter and in summer", () => {
    expect(explain(rules, vmAlert, new Date("2026-03-28T23:30:00Z")).maintenance).toEqual({ held: true, window: "weekly-vm-patching", windows: ["weekly-vm-patching"], until: "2026-03-29T01:00:00.000Z" });
    expect(explain(rules, vmAlert, new Date("2026-04-04T20:00:00Z")).maintenance).toMatchObject({ held: true, until: "2026-04-05T00:00:00.000Z" });
    expect(explain(rules, vmAlert, new Date("2026-04-04T19:59:00Z")).maintenance.held).toBe(false);
    expect(explain(rules, vmAlert, NOW).maintenance.held).toBe(false);
  });

  it("holds the payments storage account during the one-off migration night only", () => {
    const storage = sample("metric-static-fired.json");
    expect(explain(rules, storage, new Date("2026-05-16T19:00:00Z")).maintenance).toMatchObject({ held: true, window: "storage-migration", until: "2026-05-17T04:00:00.000Z" });
    expect(explain(rules, storage, new Date("2026-04-04T21:00:00Z")).maintenance.held).toBe(false); // not a VM
  });
});

describe("every example", () => {
  it.each(["allow-list-by-subscription.yaml", "per-landing-zone-routing.yaml", "weekly-patch-window.yaml"])("%s passes the preview-time check", (name) => {
    expect(checkRules(readFileSync(example(name), "utf8")).problems).toEqual([]);
  });
});
