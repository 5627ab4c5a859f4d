/**
 * The alerts the receiver raises about itself (a missing heartbeat, a credential about to expire),
 * as common-alert-schema notifications. They go through the same ledger, routing and outbox as
 * Azure's, so the ITSM learns of a broken path the way it learns of anything else, and the
 * incident's timeline, noise rules and retries apply unchanged. Pure: the caller gives the time.
 *
 * One condition is one alertId for its whole life (`secure-export/<key>`): "Fired" opens the
 * incident, "Resolved" resolves it, and a later "Fired" opens it again as a refire of that alertId
 * (routing's `onRefireAfterClose` applies when a person closed it).
 */
import { SELF_MONITORING_SERVICE } from "./normalise.ts";
import type { CommonAlert, Severity } from "./schema.ts";

export interface SelfAlert {
  /** The condition's stable name, e.g. `heartbeat-missing` or `credential-expiry/servicenow-prod`. */
  key: string;
  condition: "Fired" | "Resolved";
  /** The rule name the ITSM ticket and the routing rules see (`alertRule`). */
  rule: string;
  severity: Severity;
  /** What a person reads first: the ticket's short description comes from it. */
  description: string;
  /** When the condition began; for "Resolved" the same instant as its "Fired". */
  firedAt: Date;
  /** When it ended ("Resolved" only). */
  resolvedAt?: Date;
  /** Facts for the ticket: listed under the description, and kept as the alert's custom properties for routing. */
  properties?: Readonly<Record<string, string>>;
}

export const SELF_ALERT_ID_PREFIX = "secure-export/";

export function selfAlertPayload(alert: SelfAlert): CommonAlert {
  if (alert.condition === "Resolved" && !alert.resolvedAt) throw new Error(`self alert ${alert.key}: a "Resolved" needs resolvedAt`);
  return {
    schemaId: "azureMonitorCommonAlertSchema",
    data: {
      essentials: {
        alertId: `${SELF_ALERT_ID_PREFIX}${alert.key}`,
        alertRule: alert.rule,
        severity: alert.severity,
        signalType: null,
        monitorCondition: alert.condition,
        monitoringService: SELF_MONITORING_SERVICE,
        alertTargetIDs: [],
        configurationItems: [],
        originAlertId: null,
        firedDateTime: alert.firedAt.toISOString(),
        resolvedDateTime: alert.condition === "Resolved" ? alert.resolvedAt!.toISOString() : null,
        description: [alert.description, ...Object.entries(alert.properties ?? {}).map(([name, value]) => `${name}: ${value}`)].join("\n"),
        essentialsVersion: "1.0",
        alertContextVersion: "1.0",
      },
      alertContext: {},
      customProperties: alert.properties ? { ...alert.properties } : null,
    },
  };
}
