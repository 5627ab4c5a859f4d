/**
 * The incident state machine (docs/incidents.md#incidents-and-the-cmdb): one incident per alertId, driven by notifications
 * that Azure delivers at least once and in any order. Pure: (state, change) → (state, events).
 *
 * Convergence comes from ordering every change by the payload's own time, never by arrival:
 * a change applies only if it is newer than the one the incident last applied, under one total
 * order (time, then Resolved after Fired, then a stable key). Whatever order the same
 * notifications arrive in, the newest one under that order decides the final state.
 */
import type { NormalisedAlert, SignalFamily } from "../alerts/normalise.ts";
import type { Severity } from "../alerts/schema.ts";

export type IncidentStateName = "open" | "resolved";
export type Resolution = "alert" | "operator" | "quiet_period";

/** Where a change sits in the incident's history: compared, never the arrival order. */
export interface ChangeOrder {
  /** The payload's time for the change, ISO 8601. */
  at: string;
  /** 0 opens, 1 resolves: at the same instant a resolution wins. */
  rank: 0 | 1;
  /** Stable tie-break between different notifications of the same instant and rank. */
  key: string;
}

export interface Incident {
  alertId: string;
  state: IncidentStateName;
  resolution: Resolution | null;
  severity: Severity | null;
  title: string;
  description: string | null;
  monitoringService: string;
  signalType: string | null;
  family: SignalFamily;
  alertRule: string | null;
  /** Earliest firedDateTime any notification reported. */
  firedAt: string;
  resolvedAt: string | null;
  last: ChangeOrder;
}

/**
 * The state machine's events, the ledger's own (routed: where the incident goes and why;
 * held / released: a hold on its deliveries — a maintenance window, a silence, a transient hold),
 * noise control's (incidents/noise.ts), and the outbox's steps with each ITSM tool (a ticket
 * created, reopened or resolved, a failed attempt, a dead letter).
 */
export type IncidentEventType =
  | "opened"
  | "resolved"
  | "reopened"
  | "details_updated"
  | "superseded"
  | "routed"
  | "held"
  | "released"
  | "transient"
  | "grouped"
  | "member_joined"
  | "member_changed"
  | "notified"
  | "flapping_started"
  | "flapping_ended"
  | "ticket_created"
  | "ticket_reopened"
  | "ticket_resolved"
  | "ticket_updated"
  | "delivery_failed"
  | "delivery_dead";

export interface IncidentEvent {
  type: IncidentEventType;
  /** When it happened by the payload's (or operator's) clock. */
  at: string;
  notificationId: string | null;
  actor: string | null;
  detail: Record<string, unknown>;
}

export interface Decision {
  incident: Incident;
  events: IncidentEvent[];
  changed: boolean;
}

function instant(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms;
}

/** Negative when a comes before b. A total order: equal only for the same change. */
export function compareOrder(a: ChangeOrder, b: ChangeOrder): number {
  return instant(a.at) - instant(b.at) || a.rank - b.rank || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

function earlier(a: string, b: string): string {
  return instant(b) < instant(a) ? b : a;
}

export interface NotificationChange {
  alert: NormalisedAlert;
  notificationId: string;
  /** The notification's dedup key: unique per distinct delivery. */
  key: string;
}

export function orderOf(change: NotificationChange): ChangeOrder {
  const resolved = change.alert.monitorCondition === "Resolved";
  return { at: change.alert.occurredAt, rank: resolved ? 1 : 0, key: change.key };
}

function describe(alert: NormalisedAlert) {
  return {
    severity: alert.severity,
    title: alert.title,
    description: alert.description,
    monitoringService: alert.monitoringService,
    signalType: alert.signalType,
    family: alert.family,
    alertRule: alert.alertRule,
  };
}

/** Applies one notification. `current` is null for an alertId never seen before. */
export function applyNotification(current: Incident | null, change: NotificationChange): Decision {
  const { alert } = change;
  const order = orderOf(change);
  const resolved = alert.monitorCondition === "Resolved";
  const stateAfter: IncidentStateName = resolved ? "resolved" : "open";
  const event = (type: IncidentEventType, detail: Record<string, unknown> = {}): IncidentEvent => ({
    type,
    at: order.at,
    notificationId: change.notificationId,
    actor: null,
    detail: { monitorCondition: alert.monitorCondition, ...detail },
  });

  if (!current) {
    const incident: Incident = {
      alertId: alert.alertId,
      state: stateAfter,
      resolution: resolved ? "alert" : null,
      ...describe(alert),
      firedAt: alert.firedAt,
      resolvedAt: resolved ? alert.occurredAt : null,
      last: order,
    };
    const events = [event("opened", { firedAt: alert.firedAt })];
    if (resolved) events.push(event("resolved", { resolution: "alert", resolvedAt: alert.occurredAt }));
    return { incident, events, changed: true };
  }

  const firedAt = earlier(current.firedAt, alert.firedAt);
  const cmp = compareOrder(order, current.last);
  if (cmp <= 0) {
    // Older (or the very same) change: it may still teach us an earlier firing time, nothing else.
    if (firedAt === current.firedAt) {
      return { incident: current, events: cmp === 0 ? [] : [event("superseded", { newer: current.last.at })], changed: false };
    }
    return {
      incident: { ...current, firedAt },
      events: [event("details_updated", { firedAt })],
      changed: true,
    };
  }

  const incident: Incident = {
    ...current,
    ...describe(alert),
    state: stateAfter,
    resolution: resolved ? "alert" : null,
    firedAt,
    resolvedAt: resolved ? alert.occurredAt : null,
    last: order,
  };
  let type: IncidentEventType = "details_updated";
  if (current.state === "open" && resolved) type = "resolved";
  else if (current.state === "resolved" && !resolved) type = "reopened";
  return { incident, events: [event(type, resolved ? { resolution: "alert", resolvedAt: alert.occurredAt } : {})], changed: true };
}

/** Who did something by hand: the name the timeline shows, and the id that identifies them. */
export interface Actor {
  name: string;
  id: string;
}

/** An operator resolves an incident Azure will never resolve (log, activity log, budgets…). */
export function applyOperatorResolve(current: Incident, at: string, actor: Actor, note: string | null): Decision {
  if (current.state === "resolved") return { incident: current, events: [], changed: false };
  const order: ChangeOrder = { at, rank: 1, key: `operator:${actor.id}` };
  // An operator acts on what they saw: if a newer notification already arrived, theirs is still the latest word now.
  const last = compareOrder(order, current.last) > 0 ? order : { ...current.last, rank: 1 as const, key: `${current.last.key}~operator` };
  return {
    incident: { ...current, state: "resolved", resolution: "operator", resolvedAt: at, last },
    // The name for people to read; the id kept beside it, since names are neither unique nor stable.
    events: [{ type: "resolved", at, notificationId: null, actor: actor.name, detail: { resolution: "operator", ...(actor.name !== actor.id ? { actorId: actor.id } : {}), ...(note ? { note } : {}) } }],
    changed: true,
  };
}

/**
 * Quiet-period auto-resolution for stateless signals: the incident resolves at a time derived
 * from its own history (last change + quiet period), so it converges like everything else.
 */
export function applyQuietPeriod(current: Incident, now: string, quietPeriodMs: number): Decision {
  if (current.state === "resolved") return { incident: current, events: [], changed: false };
  const due = instant(current.last.at) + quietPeriodMs;
  if (instant(now) < due) return { incident: current, events: [], changed: false };
  const at = new Date(due).toISOString();
  const order: ChangeOrder = { at, rank: 1, key: "quiet_period" };
  return {
    incident: { ...current, state: "resolved", resolution: "quiet_period", resolvedAt: at, last: order },
    events: [{ type: "resolved", at, notificationId: null, actor: null, detail: { resolution: "quiet_period", quietPeriodMs } }],
    changed: true,
  };
}
