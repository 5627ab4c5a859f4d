/** Notifications prepared as POST /api/alerts prepares them, and routing rules for them: no store involved. */
import type { CommonAlert } from "../../receiver/src/alerts/schema.ts";
import { validateAlert } from "../../receiver/src/alerts/validate.ts";
import type { Principal } from "../../receiver/src/auth/token-rules.ts";
import { connectorsFromEnv } from "../../receiver/src/connectors/kinds.ts";
import type { DeliveryTargets } from "../../receiver/src/ledger/change-set.ts";
import { prepareNotification, type PreparedNotification } from "../../receiver/src/ledger/prepare-notification.ts";
import { explain } from "../../receiver/src/routing/explain.ts";
import { parseRoutingRules, type RoutingRules } from "../../receiver/src/routing/load-rules.ts";
import { wrapContext } from "./fixtures.ts";

export const AZNS_CALLER: Principal = { tenantId: "t", objectId: "o", name: null, callerId: "461e8683-5575-4561-ac7f-899cc907d62a", tokenVersion: "1.0", roles: [] };

export const NO_TARGETS: DeliveryTargets = { connectors: [], maxAgeMs: 0 };

/** Validates and prepares a payload as POST /api/alerts does; throws what would be a 422. */
export function prepared(payload: unknown, raw = JSON.stringify(payload)): PreparedNotification {
  const validation = validateAlert(payload);
  if (!validation.ok) throw new Error(validation.message);
  const preparation = prepareNotification(validation.alert as CommonAlert, raw, AZNS_CALLER);
  if (!preparation.ok) throw new Error(preparation.message);
  return preparation.notification;
}

/**
 * Routing rules (YAML lines) for the ServiceNow connector today's variables configure, which the
 * rules call `default`, and the delivery targets a batch under them sends to.
 */
export function serviceNowRules(lines: readonly string[]): { rules: RoutingRules; targets: DeliveryTargets } {
  const environment = connectorsFromEnv({ SERVICENOW_URL: "https://contoso.service-now.com", SERVICENOW_USERNAME: "svc", SERVICENOW_PASSWORD: "pw" });
  const rules = parseRoutingRules(lines.join("\n"), { variable: "ROUTING_RULES", environment, readSecret: () => "" });
  return { rules, targets: { connectors: ["default"], maxAgeMs: 60_000 } };
}

/** A payload prepared as POST /api/alerts does, with the rules' decision at `now`. */
export function routed(payload: unknown, rules: RoutingRules, now: Date = new Date()): PreparedNotification {
  const p = prepared(payload);
  return { ...p, routing: explain(rules, p.alert, now) };
}

/**
 * A metric alert fired (or resolved) now, on a VM named after the last part of its alertId in the
 * alertId's subscription, prepared with the rules' decision.
 */
export function metricAlertNow(rules: RoutingRules, alertId: string, alertRule: string, monitorCondition: "Fired" | "Resolved" = "Fired"): PreparedNotification {
  const now = new Date();
  const subscription = alertId.split("/")[2];
  const payload = wrapContext("metric-static.json", {
    alertId,
    alertRule,
    monitorCondition,
    firedDateTime: now.toISOString(),
    ...(monitorCondition === "Resolved" ? { resolvedDateTime: now.toISOString() } : {}),
    alertTargetIDs: [`/subscriptions/${subscription}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${alertId.split("/").at(-1)}`],
  });
  return routed(payload, rules, now);
}
