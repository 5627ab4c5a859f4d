/** Every published payload shape validates and normalises, quirks included. */
import { describe, expect, it } from "vitest";
import { KNOWN_MONITORING_SERVICES, SELF_MONITORING_SERVICE, normaliseAlert } from "../../../receiver/src/alerts/normalise.ts";
import { validateAlert } from "../../../receiver/src/alerts/validate.ts";
import { CONTEXT_SERVICES, alertContextNames, fixture, fixtureNames, wrapContext } from "../../support/fixtures.ts";

function normalised(payload: unknown) {
  const validation = validateAlert(payload);
  if (!validation.ok) throw new Error(validation.message);
  return normaliseAlert(validation.alert);
}

describe("published sample payloads", () => {
  it("has the samples this suite relies on", () => {
    expect(fixtureNames()).toHaveLength(7);
    expect(alertContextNames()).toHaveLength(15);
  });

  it.each(fixtureNames())("%s validates and normalises", (name) => {
    const payload = fixture(name);
    const alert = normalised(payload);
    expect(alert.alertId).toBe(payload.data.essentials.alertId);
    expect(alert.knownService).toBe(true);
    expect(alert.title.length).toBeGreaterThan(0);
  });

  it.each(alertContextNames())("alertContext %s, wrapped in essentials, validates and normalises", (name) => {
    const alert = normalised(wrapContext(name));
    expect(alert.monitoringService).toBe(CONTEXT_SERVICES[name]!.monitoringService);
    expect(alert.knownService).toBe(true);
    expect(alert.family).not.toBe("unknown");
  });

  it("covers every monitoringService of the common alert schema", () => {
    // Microsoft Learn, "Common alert schema", the monitoringService values of its alert context table.
    const documented = [
      "Platform", "Log Analytics", "Application Insights", "Log Alerts V2", "Simple Log Alert",
      "Activity Log - Administrative", "Activity Log - Policy", "Activity Log - Autoscale", "Activity Log - Security",
      "Activity Log - Recommendation", "ServiceHealth", "Resource Health", "SmartDetector", "Prometheus", "CostAlerts",
    ];
    // Plus the receiver's own (alerts/self-alert.ts), which no Azure payload carries.
    expect([...KNOWN_MONITORING_SERVICES].sort()).toEqual([...documented, SELF_MONITORING_SERVICE].sort());
  });
});

describe("normalisation", () => {
  it("reads a fired metric alert", () => {
    expect(normalised(fixture("metric-static-fired.json"))).toMatchObject({
      monitorCondition: "Fired",
      monitoringService: "Platform",
      family: "metric",
      stateful: true,
      signalType: "Metric",
      severity: "Sev4",
      title: "test-metricAlertRule",
      firedAt: "2025-04-15T18:17:12.851Z",
      resolvedAt: null,
      occurredAt: "2025-04-15T18:17:12.851Z",
      targetResourceIds: [
        "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/test-rg/providers/microsoft.storage/storageaccounts/test-storageaccount",
      ],
      configurationItems: ["test-storageAccount"],
      customProperties: { customKey1: "value1", customKey2: "value2" },
      details: { conditions: [{ metricName: "Transactions", operator: "GreaterThan", threshold: "0", metricValue: 100, dimensions: [{ name: "ApiName", value: "GetBlob" }] }] },
    });
  });

  it("takes resolvedAt from resolvedDateTime on a resolved metric alert", () => {
    const alert = normalised(fixture("metric-static-resolved.json"));
    expect(alert).toMatchObject({ monitorCondition: "Resolved", resolvedAt: "2019-03-22T14:03:16.2246313Z", occurredAt: "2019-03-22T14:03:16.2246313Z" });
  });

  it("binds the resources a log alert names in its ResourceId dimension", () => {
    const alert = normalised(fixture("logalertsv2-fired.json"));
    expect(alert.family).toBe("log");
    expect(alert.configurationItems).toEqual([]);
    // The dimension names a VM in another resource group than alertTargetIDs does.
    expect(alert.affectedResourceIds).toEqual(["/subscriptions/12345a-1234b-123c-123d-12345678e/resourcegroups/test/providers/microsoft.compute/virtualmachines/testvm"]);
    const other = structuredClone(fixture("logalertsv2-fired.json"));
    other.data.alertContext.condition.allOf[0].dimensions = [
      { name: "ResourceId", value: other.data.essentials.alertTargetIDs[0].toUpperCase() },
      { name: "_ResourceId", value: "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Web/sites/App1" },
      { name: "Computer", value: "vm-7" },
      { name: "ResourceId", value: "not-an-arm-id" },
    ];
    expect(normalised(other).affectedResourceIds).toEqual(["/subscriptions/s/resourcegroups/rg/providers/microsoft.web/sites/app1"]);
  });

  it("adds Log Analytics AffectedConfigurationItems to the configuration items", () => {
    const alert = normalised(wrapContext("log-analytics.json"));
    expect(alert.configurationItems).toEqual(["vm1", "INC-Gen2Alert"]);
  });

  it("folds both spellings of the activity-log signal type", () => {
    expect(normalised(fixture("activitylog-administrative-fired.json")).signalType).toBe("Activity Log");
    expect(normalised(fixture("servicehealth-incident-fired.json")).signalType).toBe("Activity Log");
  });

  it("accepts alertRuleID and alertRuleId", () => {
    expect(normalised(wrapContext("metric-static.json", { alertRuleID: "/rules/a" })).alertRuleId).toBe("/rules/a");
    expect(normalised(wrapContext("metric-static.json", { alertRuleId: "/rules/b" })).alertRuleId).toBe("/rules/b");
  });

  it("reads service health with numeric enums and impactedServices as array or JSON string", () => {
    const numeric = normalised(wrapContext("servicehealth-numeric-enums.json"));
    expect(numeric.details).toMatchObject({ eventSource: "2", level: "3", impactedServices: [{ serviceName: "Azure Synapse Analytics", regions: ["East US"] }] });
    const asArray = normalised(fixture("servicehealth-incident-fired.json"));
    expect(asArray.details).toMatchObject({ trackingId: "TEST-TTT", stage: "Resolved", impactedServices: [{ serviceName: "AzureServiceName", regions: ["Global"] }] });
  });

  it("reads a budget alert whose rule, severity, signal type and targets are null", () => {
    expect(normalised(fixture("budget-forecasted-fired.json"))).toMatchObject({
      family: "budget",
      severity: null,
      signalType: null,
      alertRule: null,
      targetResourceIds: [],
      originAlertId: null,
      configurationItems: ["budgets"],
      title: "Budget Test_forcasted_budget: Forecasted spend alert",
      details: { budgetName: "Test_forcasted_budget", spentAmount: "$999.99" },
    });
  });

  it("keeps Resource Health's health transition", () => {
    expect(normalised(wrapContext("resourcehealth.json")).details).toMatchObject({ currentHealthStatus: "Unavailable", previousHealthStatus: "Available", eventSource: "ResourceHealth" });
  });

  it("stores an unknown monitoringService as such", () => {
    const alert = normalised(wrapContext("metric-static.json", { monitoringService: "Quantum Telemetry" }));
    expect(alert).toMatchObject({ monitoringService: "Quantum Telemetry", knownService: false, family: "unknown", stateful: false });
  });

  it("never throws on alertContext shapes it does not expect", () => {
    for (const context of [null, {}, { condition: 5 }, { condition: { allOf: [null, 3, { dimensions: "x" }] } }, { properties: [] }, { AlertData: "x" }]) {
      for (const name of Object.keys(CONTEXT_SERVICES)) {
        const payload = wrapContext(name);
        payload.data.alertContext = context;
        expect(() => normalised(payload)).not.toThrow();
      }
    }
  });
});

describe("validation messages", () => {
  const base = () => fixture("metric-static-fired.json");
  const cases: Array<[string, (b: any) => void, string]> = [
    ["wrong schemaId", (b) => (b.schemaId = "azureMonitorAlertSchema"), "schemaId"],
    ["no data", (b) => delete b.data, "data"],
    ["no essentials", (b) => delete b.data.essentials, "data.essentials"],
    ["no alertId", (b) => delete b.data.essentials.alertId, "data.essentials.alertId"],
    ["empty alertId", (b) => (b.data.essentials.alertId = ""), "data.essentials.alertId"],
    ["unknown monitorCondition", (b) => (b.data.essentials.monitorCondition = "Acknowledged"), "data.essentials.monitorCondition"],
    ["unknown severity", (b) => (b.data.essentials.severity = "Sev5"), "data.essentials.severity"],
    ["bad firedDateTime", (b) => (b.data.essentials.firedDateTime = "yesterday"), "data.essentials.firedDateTime"],
    ["alertTargetIDs not a list", (b) => (b.data.essentials.alertTargetIDs = "/subscriptions/x"), "data.essentials.alertTargetIDs"],
    ["alertContext an array", (b) => (b.data.alertContext = []), "data.alertContext"],
  ];
  it.each(cases)("names the field for %s", (_name, mutate, field) => {
    const body = base();
    mutate(body);
    const result = validateAlert(body);
    expect(result).toMatchObject({ ok: false, field });
    expect(result.ok === false && result.message.startsWith(field)).toBe(true);
  });

  it.each([[null], [42], ["text"], [[]], [true]])("refuses a body that is %j", (body) => {
    expect(validateAlert(body)).toMatchObject({ ok: false, field: "body" });
  });
});
