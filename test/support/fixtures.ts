/** The Azure Monitor sample payloads in test/fixtures, as published by Microsoft and not edited. */
import { readdirSync, readFileSync } from "node:fs";

const DIR = new URL("../fixtures/azure-monitor/", import.meta.url);
const CONTEXTS = new URL("alert-context/", DIR);

export function fixtureNames(): string[] {
  return readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();
}

export function fixture(name: string): any {
  return JSON.parse(readFileSync(new URL(name, DIR), "utf8"));
}

export function alertContextNames(): string[] {
  return readdirSync(CONTEXTS).filter((f) => f.endsWith(".json")).sort();
}

export function alertContext(name: string): any {
  return JSON.parse(readFileSync(new URL(name, CONTEXTS), "utf8")).alertContext;
}

/** The monitoringService (and signal type) each alertContext fragment is documented under. */
export const CONTEXT_SERVICES: Record<string, { monitoringService: string; signalType: string }> = {
  "activitylog-administrative.json": { monitoringService: "Activity Log - Administrative", signalType: "Activity Log" },
  "activitylog-autoscale.json": { monitoringService: "Activity Log - Autoscale", signalType: "Activity Log" },
  "activitylog-policy.json": { monitoringService: "Activity Log - Policy", signalType: "Activity Log" },
  "activitylog-security.json": { monitoringService: "Activity Log - Security", signalType: "Activity Log" },
  "application-insights.json": { monitoringService: "Application Insights", signalType: "Log" },
  "log-alerts-v2.json": { monitoringService: "Log Alerts V2", signalType: "Log" },
  "log-analytics.json": { monitoringService: "Log Analytics", signalType: "Log" },
  "metric-dynamic.json": { monitoringService: "Platform", signalType: "Metric" },
  "metric-static.json": { monitoringService: "Platform", signalType: "Metric" },
  "metric-webtest.json": { monitoringService: "Platform", signalType: "Metric" },
  "prometheus.json": { monitoringService: "Prometheus", signalType: "Metric" },
  "resourcehealth.json": { monitoringService: "Resource Health", signalType: "ActivityLog" },
  "servicehealth-numeric-enums.json": { monitoringService: "ServiceHealth", signalType: "ActivityLog" },
  "servicehealth.json": { monitoringService: "ServiceHealth", signalType: "ActivityLog" },
  "simple-log-alert.json": { monitoringService: "Simple Log Alert", signalType: "Log" },
};

let counter = 0;

/** A complete notification around an alertContext fragment, with a fresh alertId. */
export function wrapContext(name: string, overrides: Record<string, unknown> = {}): any {
  const service = CONTEXT_SERVICES[name];
  if (!service) throw new Error(`no monitoringService known for ${name}`);
  counter += 1;
  return {
    schemaId: "azureMonitorCommonAlertSchema",
    data: {
      essentials: {
        alertId: `/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.AlertsManagement/alerts/${name}-${counter}`,
        alertRule: `rule-${name}`,
        severity: "Sev2",
        signalType: service.signalType,
        monitorCondition: "Fired",
        monitoringService: service.monitoringService,
        alertTargetIDs: ["/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"],
        configurationItems: ["vm1"],
        originAlertId: `origin-${counter}`,
        firedDateTime: "2026-11-01T10:00:00.000Z",
        description: "test",
        essentialsVersion: "1.0",
        alertContextVersion: "1.0",
        ...overrides,
      },
      alertContext: alertContext(name),
      customProperties: null,
    },
  };
}
