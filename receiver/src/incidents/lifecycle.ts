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
/**
 * Who resolved it: Azure (`alert`), an operator, the quiet period, a person in the ITSM (`itsm`),
 * or reconciliation (Azure's own view, read when its "Resolved" never arrived).
 */
export type Resolution = "alert" | "operator" | "quiet_period" | "itsm" | "reconciliation";

/** Resolutions a person made: an alert that fires again after one follows the route's policy. */
export const HUMAN_RESOLUTIONS: readonly Resolution[] = ["operator", "itsm"];

/**
 * What an alert that fires again after a person closed its incident does (a route's
 * `onRefireAfterClose`): `new` reopens the incident with a new ticket, `reopen` reopens it and its
 * ticket, `note` keeps it resolved and adds a note to the closed ticket.
 */
export const REFIRE_POLICIES = ["new", "reopen", "note"] as const;
export type RefirePolicy = (typeof REFIRE_POLICIES)[number];

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
  | "ticket_acknowledged"
  | "ticket_commented"
  | "delivery_failed"
  | "delivery_dead"
  // The closed loop: the alert fired again after a person closed it (policy `note`), and what a
  // person did in the ITSM or here besides resolving (acknowledged, assigned, commented).
  | "refired"
  | "acknowledged"
  | "assigned"
  | "commented"
  // Log evidence (docs/incidents.md#log-evidence): a log alert's rows, or why there are none.
  | "evidence_added"
  | "evidence_refused"
  | "evidence_failed";

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

/**
 * Applies one notification. `current` is null for an alertId never seen before. `refire` is the
 * incident's route's policy for an alert that fires again after a person closed it.
 */
export function applyNotification(current: Incident | null, change: NotificationChange, refire: RefirePolicy = "new"): Decision {
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

  const humanClosed = current.state === "resolved" && current.resolution !== null && HUMAN_RESOLUTIONS.includes(current.resolution);
  if (humanClosed && resolved) {
    // Azure's "Resolved" after a person closed it changes nothing but the order it is known by.
    return { incident: { ...current, firedAt, last: order }, events: [event("details_updated", { alreadyResolvedBy: current.resolution })], changed: true };
  }
  if (humanClosed && refire === "note") {
    // It stays resolved; the closed ticket gets a note (outbox/delivery.ts: actionsFor).
    return { incident: { ...current, firedAt, last: order }, events: [event("refired", { policy: "note", closedBy: current.resolution })], changed: true };
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
  const detail = resolved ? { resolution: "alert", resolvedAt: alert.occurredAt } : humanClosed ? { policy: refire, closedBy: current.resolution } : {};
  return { incident, events: [event(type, detail)], changed: true };
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

/** What a person's close in the ITSM says: where, who, with which code, at what time. */
export interface ItsmClose {
  /** The ITSM's own time of the change, ISO 8601. */
  at: string;
  /** The connector the ticket lives in. */
  connector: string;
  ticket: string;
  /** Who closed it, as the ITSM names them. */
  by: string;
  /** `resolved`, `closed` or `canceled`, as the ITSM reported it after we read it back. */
  state: string;
  closeCode: string | null;
  note: string | null;
}

/**
 * A person resolved or closed the incident's ticket (confirmed by reading the ticket back). Like
 * an operator's resolve, it is the latest word when it is made, whatever notification came before.
 */
export function applyItsmResolve(current: Incident, close: ItsmClose): Decision {
  if (current.state === "resolved") return { incident: current, events: [], changed: false };
  const order: ChangeOrder = { at: close.at, rank: 1, key: `itsm:${close.connector}:${close.ticket}` };
  const last = compareOrder(order, current.last) > 0 ? order : { ...current.last, rank: 1 as const, key: `${current.last.key}~itsm` };
  return {
    incident: { ...current, state: "resolved", resolution: "itsm", resolvedAt: close.at, last },
    events: [
      {
        type: "resolved",
        at: close.at,
        notificationId: null,
        actor: close.by,
        detail: { resolution: "itsm", connector: close.connector, ticket: close.ticket, ticketState: close.state, closeCode: close.closeCode, ...(close.note ? { note: close.note } : {}) },
      },
    ],
    changed: true,
  };
}

/**
 * A person reopened a ticket they had closed (read back: it is active again). Only an incident a
 * person closed there reopens; one Azure or an operator resolved stays resolved, with a note.
 */
export function applyItsmReopen(current: Incident, reopen: { at: string; connector: string; ticket: string; by: string }): Decision {
  const detail = { connector: reopen.connector, ticket: reopen.ticket, source: "itsm" };
  if (current.state === "open") return { incident: current, events: [], changed: false };
  if (current.resolution !== "itsm") {
    return { incident: current, events: [{ type: "commented", at: reopen.at, notificationId: null, actor: reopen.by, detail: { ...detail, note: `the ticket was reopened; the incident stays resolved (resolved by ${current.resolution})` } }], changed: false };
  }
  const order: ChangeOrder = { at: reopen.at, rank: 0, key: `itsm-reopen:${reopen.connector}:${reopen.ticket}` };
  const last = compareOrder(order, current.last) > 0 ? order : current.last;
  return {
    incident: { ...current, state: "open", resolution: null, resolvedAt: null, last },
    events: [{ type: "reopened", at: reopen.at, notificationId: null, actor: reopen.by, detail }],
    changed: true,
  };
}

/**
 * Reconciliation: Azure's view says the alert is resolved (its monitor condition) or closed (its
 * user response) while the ledger still has it open, because a "Resolved" was lost.
 */
export function applyReconciliation(current: Incident, azure: { at: string; monitorCondition: string | null; alertState: string | null; modifiedBy: string | null }): Decision {
  if (current.state === "resolved") return { incident: current, events: [], changed: false };
  if (azure.monitorCondition !== "Resolved" && azure.alertState !== "Closed") return { incident: current, events: [], changed: false };
  const order: ChangeOrder = { at: azure.at, rank: 1, key: "reconciliation" };
  const last = compareOrder(order, current.last) > 0 ? order : { ...current.last, rank: 1 as const, key: `${current.last.key}~reconciliation` };
  return {
    incident: { ...current, state: "resolved", resolution: "reconciliation", resolvedAt: azure.at, last },
    events: [
      {
        type: "resolved",
        at: azure.at,
        notificationId: null,
        actor: null,
        detail: { resolution: "reconciliation", monitorCondition: azure.monitorCondition, alertState: azure.alertState, modifiedBy: azure.modifiedBy },
      },
    ],
    changed: true,
  };
}

/** What a person did to an open incident besides resolving it: shown in the timeline, state unchanged. */
export function applyUpdate(
  current: Incident,
  update: { type: "acknowledged" | "assigned" | "commented"; at: string; by: string; detail: Record<string, unknown> },
): Decision {
  // Acknowledging what is already over means nothing; a comment is kept whatever the state.
  if (current.state === "resolved" && update.type !== "commented") return { incident: current, events: [], changed: false };
  // The incident itself is unchanged: only its timeline (and, through the outbox, its tickets) learn of it.
  return { incident: current, events: [{ type: update.type, at: update.at, notificationId: null, actor: update.by, detail: update.detail }], changed: false };
}
