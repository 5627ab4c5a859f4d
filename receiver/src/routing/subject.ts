/**
 * What rules look at in an alert: the normalised alert reduced to the fields matchers name, with
 * the resources it concerns parsed out of ARM ids. Pure.
 */
import type { NormalisedAlert } from "../alerts/normalise.ts";
import type { Severity } from "../alerts/schema.ts";
import { parseResourceId } from "../cmdb/resource-id.ts";

/**
 * One resource the alert concerns. `from` says where it was read:
 * - `target`: an entry of essentials.alertTargetIDs (the usual case);
 * - `alert-rule`: the alert rule's own ARM id (essentials.alertRuleID), used when the alert names no
 *   target: its subscription and resource group are the rule's scope; it has no resource type,
 *   because the rule's type (microsoft.insights/metricalerts) is not the type of what it watches;
 * - `alert-id`: the alert instance id, used when there is neither (budget alerts): it lives in the
 *   subscription the alert is about, so it gives the subscription and nothing else.
 */
export interface RoutingResource {
  from: "target" | "alert-rule" | "alert-id";
  /** Lower-cased ARM id, or null when only a subscription is known. */
  resourceId: string | null;
  subscription: string | null;
  resourceGroup: string | null;
  /** e.g. microsoft.compute/virtualmachines; null for a subscription or resource group itself. */
  resourceType: string | null;
}

export interface RoutingSubject {
  alertId: string;
  resources: RoutingResource[];
  alertRule: string | null;
  alertRuleId: string | null;
  severity: Severity | null;
  monitoringService: string;
  /** `Metric`, `Log`, `Activity Log` (both spellings folded by normalise.ts), or null. */
  signalType: string | null;
  monitorCondition: "Fired" | "Resolved";
  /** Keys lower-cased (matching ignores their case); values as text. */
  customProperties: ReadonlyMap<string, { key: string; value: string }>;
}

function resourceOf(id: string, from: RoutingResource["from"]): RoutingResource {
  const parsed = parseResourceId(id);
  if (!parsed) return { from, resourceId: id.trim().toLowerCase(), subscription: null, resourceGroup: null, resourceType: null };
  if (from === "target") {
    return { from, resourceId: parsed.resourceId, subscription: parsed.subscriptionId, resourceGroup: parsed.resourceGroup, resourceType: parsed.providerType };
  }
  if (from === "alert-rule") {
    return { from, resourceId: parsed.resourceId, subscription: parsed.subscriptionId, resourceGroup: parsed.resourceGroup, resourceType: null };
  }
  return { from, resourceId: null, subscription: parsed.subscriptionId, resourceGroup: null, resourceType: null };
}

function resourcesOf(alert: NormalisedAlert): RoutingResource[] {
  if (alert.targetResourceIds.length > 0) return alert.targetResourceIds.map((id) => resourceOf(id, "target"));
  if (alert.alertRuleId && parseResourceId(alert.alertRuleId)) return [resourceOf(alert.alertRuleId, "alert-rule")];
  return parseResourceId(alert.alertId) ? [resourceOf(alert.alertId, "alert-id")] : [];
}

/** Azure sends custom properties as strings; numbers and booleans are compared as their text. */
function customPropertiesOf(alert: NormalisedAlert): Map<string, { key: string; value: string }> {
  const result = new Map<string, { key: string; value: string }>();
  for (const [key, value] of Object.entries(alert.customProperties ?? {})) {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      result.set(key.toLowerCase(), { key, value: String(value) });
    }
  }
  return result;
}

export function routingSubject(alert: NormalisedAlert): RoutingSubject {
  return {
    alertId: alert.alertId,
    resources: resourcesOf(alert),
    alertRule: alert.alertRule,
    alertRuleId: alert.alertRuleId ? alert.alertRuleId.trim().toLowerCase() : null,
    severity: alert.severity,
    monitoringService: alert.monitoringService,
    signalType: alert.signalType,
    monitorCondition: alert.monitorCondition,
    customProperties: customPropertiesOf(alert),
  };
}
