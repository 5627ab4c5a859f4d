/**
 * The outbox's model and its port: what a delivery carries, the Connector each ITSM tool implements,
 * and how a connector reports failure. The outbox depends on this; the connectors implement it.
 */
import { createHash } from "node:crypto";
import type { Severity } from "../alerts/schema.ts";
import type { CiBinding } from "../cmdb/bindings.ts";
import type { EvidenceTable } from "../incidents/evidence.ts";
import type { Incident, IncidentEvent } from "../incidents/lifecycle.ts";

/**
 * What a delivery asks of its target: open (find or create the ticket), reopen, resolve; for a
 * person's acknowledgement or comment, acknowledge and comment; and update, a note on the open
 * ticket (a problem's member changes, flapping: docs/noise.md): a ServiceNow work note, a BMC Helix work log.
 */
export type DeliveryAction = "open" | "reopen" | "resolve" | "acknowledge" | "comment" | "update";

/** The incident as it was when the change happened: deliveries never read the live ledger. */
export interface IncidentSnapshot {
  incidentId: string;
  alertId: string;
  /** Stable and short (ServiceNow's correlation_id holds 100 characters; an alertId is longer). */
  correlationKey: string;
  title: string;
  description: string | null;
  severity: Severity | null;
  monitoringService: string;
  signalType: string | null;
  alertRule: string | null;
  firedAt: string;
  resolvedAt: string | null;
  resolution: Incident["resolution"];
  /** The first SNAPSHOT_CIS resources (a tool shows no more; an alert may name thousands). */
  resources: Array<{ resourceId: string; name: string; providerType: string | null }>;
  unboundCis: string[];
  /** How many resources and unbound CIs the incident has in all. */
  resourceCount: number;
  unboundCount: number;
  note: string | null;
  /** Fields the routing rules set for this tool, under the tool's own field names. */
  fields: Record<string, string>;
  /**
   * Who did what this delivery carries, in words (a person's close in an ITSM, an operator's
   * acknowledgement, reconciliation): the text a ticket's note and the Azure alert's comment get.
   * Absent in deliveries queued before the closed loop.
   */
  said?: string | null;
  /** Present when the incident is a problem (docs/noise.md): a group of alerts, or a storm incident. */
  problem?: { kind: "group" | "storm"; rule: string; key: string; members: number; open: number };
  /** A log alert's rows (docs/incidents.md#log-evidence), set on the open delivery when they came in time, else on one update. */
  evidence?: EvidenceTable | null;
}

/** CIs a delivery carries: more than any connector sends (the first 100 are looked up in a CMDB). */
export const SNAPSHOT_CIS = 100;

export interface ExternalLink {
  externalId: string;
  externalNumber: string | null;
}

export interface DeliveryJob {
  id: string;
  incidentId: string;
  connector: string;
  action: DeliveryAction;
  attempts: number;
  snapshot: IncidentSnapshot;
  link: ExternalLink | null;
}

export class DeliveryError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { retryable: boolean; retryAfterMs?: number }) {
    super(message);
    this.name = "DeliveryError";
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The key an incident's ticket is found by. A later ticket of the same incident (an alert that
 * fired again after a person closed it, under the `new` policy) gets its number as a suffix.
 */
export function correlationKey(alertId: string, ticketGeneration = 1): string {
  const key = `azmon-${createHash("sha256").update(alertId.toLowerCase()).digest("hex").slice(0, 40)}`;
  return ticketGeneration > 1 ? `${key}-${ticketGeneration}` : key;
}

export function snapshotOf(
  incidentId: string,
  incident: Incident,
  bindings: readonly CiBinding[],
  note: string | null = null,
  fields: Record<string, string> = {},
  extra: { ticketGeneration?: number; said?: string | null } = {},
): IncidentSnapshot {
  const resources = bindings.flatMap((b) => (b.bound ? [{ resourceId: b.resource.resourceId, name: b.names[0] ?? b.resource.name, providerType: b.resource.providerType }] : []));
  const unbound = bindings.flatMap((b) => (b.bound ? [] : [b.name]));
  return {
    incidentId,
    alertId: incident.alertId,
    correlationKey: correlationKey(incident.alertId, extra.ticketGeneration),
    title: incident.title,
    description: incident.description,
    severity: incident.severity,
    monitoringService: incident.monitoringService,
    signalType: incident.signalType,
    alertRule: incident.alertRule,
    firedAt: incident.firedAt,
    resolvedAt: incident.resolvedAt,
    resolution: incident.resolution,
    resources: resources.slice(0, SNAPSHOT_CIS),
    unboundCis: unbound.slice(0, SNAPSHOT_CIS),
    resourceCount: resources.length,
    unboundCount: unbound.length,
    note,
    fields,
    said: extra.said ?? null,
  };
}

/** The ITSM actions a set of timeline events calls for, in order. */
export function actionsFor(events: readonly IncidentEvent[]): DeliveryAction[] {
  return events.flatMap((e): DeliveryAction[] => {
    switch (e.type) {
      case "opened":
        return ["open"];
      // Under the `new` policy the alert that fired again gets a ticket of its own.
      case "reopened":
        return [e.detail.policy === "new" ? "open" : "reopen"];
      case "resolved":
        return ["resolve"];
      case "acknowledged":
        return ["acknowledge"];
      case "refired":
      case "commented":
        return ["comment"];
      default:
        return [];
    }
  });
}

/** What a connector's start-up check found: reachable, credentials accepted (or why not). */
export interface ConnectorCheck {
  ok: boolean;
  detail: string;
}

/** A connector delivers one outbox job to one ITSM tool and says what the tool calls the incident. */
export interface Connector {
  readonly name: string;
  /** Idempotent: safe to run again after a crash or a lost response. Throws DeliveryError. */
  deliver(job: DeliveryJob): Promise<ExternalLink | null>;
  /**
   * One authenticated request that tells whether the tool is reachable and takes our credentials,
   * for a line per connector at start-up. Never throws; delivers nothing.
   */
  check(): Promise<ConnectorCheck>;
}
