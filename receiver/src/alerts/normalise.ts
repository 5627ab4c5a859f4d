/**
 * Turns a validated common-alert notification into the one shape the rest of the receiver uses,
 * whatever the monitoringService. Pure: no I/O, no clock.
 */
import { contextReaders, type ContextReader } from "./alert-context.ts";
import { arr, obj, str, type JsonObject } from "./read.ts";
import type { CommonAlert, Severity } from "./schema.ts";

/** The monitoringService of the alerts the receiver raises about itself (heartbeat, credentials). */
export const SELF_MONITORING_SERVICE = "secure-export";

export type SignalFamily =
  | "metric"
  | "log"
  | "activity-log"
  | "service-health"
  | "resource-health"
  | "smart-detector"
  | "prometheus"
  | "budget"
  | "secure-export"
  | "unknown";

interface ServiceProfile {
  family: SignalFamily;
  /** Whether Azure itself sends "Resolved" for this service. */
  stateful: boolean;
  read: ContextReader;
}

const r = contextReaders;
const SERVICES: ReadonlyMap<string, ServiceProfile> = new Map(Object.entries({
  Platform: { family: "metric", stateful: true, read: r.metric },
  "Log Analytics": { family: "log", stateful: false, read: r.logV1 },
  "Application Insights": { family: "log", stateful: false, read: r.logV1 },
  "Log Alerts V2": { family: "log", stateful: false, read: r.logQuery },
  "Simple Log Alert": { family: "log", stateful: false, read: r.logQuery },
  "Activity Log - Administrative": { family: "activity-log", stateful: false, read: r.activityLog },
  "Activity Log - Policy": { family: "activity-log", stateful: false, read: r.activityLog },
  "Activity Log - Autoscale": { family: "activity-log", stateful: false, read: r.activityLog },
  "Activity Log - Security": { family: "activity-log", stateful: false, read: r.activityLog },
  "Activity Log - Recommendation": { family: "activity-log", stateful: false, read: r.activityLog },
  ServiceHealth: { family: "service-health", stateful: false, read: r.serviceHealth },
  "Resource Health": { family: "resource-health", stateful: false, read: r.resourceHealth },
  SmartDetector: { family: "smart-detector", stateful: false, read: r.smartDetector },
  Prometheus: { family: "prometheus", stateful: true, read: r.prometheus },
  CostAlerts: { family: "budget", stateful: false, read: r.budget },
  // The receiver's own alerts (alerts/self-alert.ts): it sends their "Resolved" itself.
  [SELF_MONITORING_SERVICE]: { family: "secure-export", stateful: true, read: r.unknown },
}));

export const KNOWN_MONITORING_SERVICES: readonly string[] = [...SERVICES.keys()];

/** The signal family of a known monitoring service, or null. */
export function familyOfService(monitoringService: string): SignalFamily | null {
  return SERVICES.get(monitoringService)?.family ?? null;
}

const UNKNOWN_SERVICE: ServiceProfile = { family: "unknown", stateful: false, read: r.unknown };

/** Signal families Azure never resolves (and an unknown service's); each may auto-resolve after a quiet period. */
export const STATELESS_FAMILIES: readonly SignalFamily[] = [...new Set([...SERVICES.values(), UNKNOWN_SERVICE].filter((s) => !s.stateful).map((s) => s.family))];

export interface NormalisedAlert {
  alertId: string;
  monitorCondition: "Fired" | "Resolved";
  monitoringService: string;
  knownService: boolean;
  family: SignalFamily;
  stateful: boolean;
  /** `Metric`, `Log`, `Activity Log` (both spellings folded) or what Azure sent; null when absent. */
  signalType: string | null;
  severity: Severity | null;
  alertRule: string | null;
  alertRuleId: string | null;
  title: string;
  description: string | null;
  firedAt: string;
  resolvedAt: string | null;
  /** The payload's own time of this notification: resolvedAt for "Resolved", else firedAt. */
  occurredAt: string;
  /** Lower-cased ARM ids from alertTargetIDs, deduplicated, in order. */
  targetResourceIds: string[];
  /** Lower-cased ARM ids the alertContext names (log dimensions, activity-log scope). */
  affectedResourceIds: string[];
  configurationItems: string[];
  originAlertId: string | null;
  investigationLink: string | null;
  customProperties: JsonObject | null;
  details: JsonObject;
}

function signalType(value: string | null | undefined): string | null {
  if (!value) return null;
  return value.replace(/\s+/g, "").toLowerCase() === "activitylog" ? "Activity Log" : value;
}

function uniqueLower(values: readonly string[]): string[] {
  return [...new Set(values.map((v) => v.trim().toLowerCase()).filter(Boolean))];
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values.map((v) => v.trim()).filter(Boolean))];
}

/** The last segment of an ARM id, for a title when nothing better is known. */
function lastSegment(id: string): string {
  return id.split("/").filter(Boolean).at(-1) ?? id;
}

export function normaliseAlert(alert: CommonAlert): NormalisedAlert {
  const e = alert.data.essentials;
  const profile = SERVICES.get(e.monitoringService) ?? UNKNOWN_SERVICE;
  const context = profile.read(obj(alert.data.alertContext) ?? {});
  const targets = uniqueLower(arr(e.alertTargetIDs).flatMap((t) => (str(t) ? [str(t) as string] : [])));
  // A Set, not targets.includes: both lists can hold thousands of ids, and this runs on the event loop.
  const targetSet = new Set(targets);
  const resolvedAt = e.monitorCondition === "Resolved" ? (e.resolvedDateTime ?? null) : null;
  const firedAt = e.firedDateTime;
  return {
    alertId: e.alertId,
    monitorCondition: e.monitorCondition,
    monitoringService: e.monitoringService,
    knownService: profile !== UNKNOWN_SERVICE,
    family: profile.family,
    stateful: profile.stateful,
    signalType: signalType(e.signalType),
    severity: e.severity ?? null,
    alertRule: e.alertRule ?? null,
    alertRuleId: e.alertRuleID ?? e.alertRuleId ?? null,
    title: e.alertRule ?? context.title ?? `${e.monitoringService} alert ${lastSegment(e.alertId)}`,
    description: e.description ?? null,
    firedAt,
    resolvedAt,
    // A "Resolved" without resolvedDateTime still happened after its firing.
    occurredAt: resolvedAt ?? firedAt,
    targetResourceIds: targets,
    affectedResourceIds: uniqueLower(context.resourceIds).filter((id) => !targetSet.has(id)),
    configurationItems: unique([...arr(e.configurationItems).flatMap((c) => (str(c) ? [str(c) as string] : [])), ...context.configurationItems]),
    originAlertId: e.originAlertId ?? null,
    investigationLink: e.investigationLink ?? null,
    customProperties: obj(alert.data.customProperties) ?? null,
    details: { ...context.details, ...(context.eventTime ? { eventTime: context.eventTime } : {}) },
  };
}
