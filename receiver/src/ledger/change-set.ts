/**
 * The one way an incident change reaches the store. Every command (accepting notifications, an
 * operator's resolve, the quiet-period sweep, the end of a maintenance hold) decides with the pure
 * state machine, records each decision here, and writes the set with `writeChanges`: the same
 * rows, the same deliveries (with the incident's CIs, to the connectors its routing chose),
 * whoever made the change.
 */
import { AZURE_ALERTS, azureActionsFor } from "../azure/alerts.ts";
import type { CiBinding } from "../cmdb/bindings.ts";
import { actionsFor, snapshotOf, type DeliveryAction } from "../outbox/delivery.ts";
import type { Decision, IncidentEvent } from "../incidents/lifecycle.ts";
import { summariseEvent } from "../incidents/timeline-text.ts";
import type { RoutingExplanation } from "../routing/explain.ts";
import type { IncidentBinding } from "../store/configuration-items.ts";
import type { Transaction } from "../store/database.ts";
import type { StoredIncident } from "../store/incidents.ts";
import { writeLedger } from "../store/ledger-writes.ts";
import type { NewDelivery } from "../store/outbox.ts";

/** Where incident changes go when no routing says otherwise, and how long each delivery is retried. */
export interface DeliveryTargets {
  /** Every configured connector: an incident created without routing rules goes to all of them. */
  connectors: readonly string[];
  maxAgeMs: number;
  /**
   * AZURE_ALERT_SYNC: an incident resolved (or acknowledged) by any path but Azure's own changes
   * its Azure alert's state too, through the outbox (azure/alerts.ts).
   */
  alertSync?: boolean;
}

/** The events whose words a ticket (a work note) and the Azure alert (its comment) are told. */
const SAID: ReadonlySet<string> = new Set(["resolved", "acknowledged", "assigned", "commented", "refired", "reopened"]);

/** The words a ticket's note and the Azure alert's comment get for an event (who did what, where): the timeline's own. */
export function describeEvent(event: IncidentEvent): string | null {
  const said = event.type === "resolved" ? event.detail.resolution !== "alert" : SAID.has(event.type) && (event.type !== "reopened" || Boolean(event.detail.policy));
  if (!said) return null;
  const text = summariseEvent(event.type, event.actor, event.detail);
  return `${text[0]!.toUpperCase()}${text.slice(1)}`;
}

/** The connectors an incident's changes go to, with the fields its route set for each. */
function destinations(incident: StoredIncident, targets: DeliveryTargets): Array<{ connector: string; fields: Record<string, string> }> {
  if (incident.routing) return incident.routing.deliveries.map((d) => ({ connector: d.connector, fields: d.fields }));
  return targets.connectors.map((connector) => ({ connector, fields: {} }));
}

export class ChangeSet {
  private readonly targets: DeliveryTargets;
  private readonly now: Date;
  readonly inserted = new Map<string, StoredIncident>();
  readonly updated = new Map<string, StoredIncident>();
  readonly events: Array<IncidentEvent & { incidentId: string }> = [];
  readonly bindings: IncidentBinding[] = [];
  readonly deliveries: NewDelivery[] = [];

  constructor(targets: DeliveryTargets, now: Date = new Date()) {
    this.targets = targets;
    this.now = now;
  }

  /**
   * Records one decision about incident `id`. `before` is what the store (or this batch) held, null
   * for a new incident, which takes `routing` (the rules' answer when it arrived) for its life.
   * `bindings` are its CIs as this change knows them: linked, and carried by every delivery.
   */
  record(
    change: {
      id: string;
      before: StoredIncident | null;
      decision: Decision;
      bindings: readonly CiBinding[];
      note?: string | null;
      routing?: RoutingExplanation | null;
      /** The connector the change came from (a person's close in its ticket): it is not sent back there. */
      origin?: string;
    },
  ): StoredIncident {
    const { id, before, decision } = change;
    const routing = before ? before.routing : (change.routing ?? null);
    const hold = before ? before.hold : routing?.maintenance.held && routing.maintenance.window && routing.maintenance.until ? { window: routing.maintenance.window, until: routing.maintenance.until } : null;
    // An alert that fired again after a person closed it, under the `new` policy, gets a new ticket.
    const newTicket = decision.events.some((e) => e.type === "reopened" && e.detail.policy === "new");
    const ticketGeneration = (before?.ticketGeneration ?? 1) + (newTicket ? 1 : 0);
    const incident: StoredIncident = { ...decision.incident, id, routing, hold, ticketGeneration };
    this.keep(incident, before === null || this.inserted.has(id), decision.changed || newTicket);
    const events = [...decision.events];
    if (!before && routing) {
      const at = decision.events[0]?.at ?? this.now.toISOString();
      events.push({ type: "routed", at, notificationId: null, actor: null, detail: { connectors: routing.connectors, routes: routing.routes.map((r) => r.name), explanation: routing.explanation } });
      if (hold) events.push({ type: "held", at, notificationId: null, actor: null, detail: { window: hold.window, until: hold.until } });
    }
    this.addEvents(id, events);
    for (const binding of change.bindings) this.bindings.push({ incidentId: id, binding });
    // A held incident sends nothing until its hold ends (releaseHeld), whatever happens meanwhile.
    if (!hold || Date.parse(hold.until) <= this.now.getTime()) {
      for (const event of decision.events) this.deliver(incident, actionsFor([event]), change.bindings, change.note ?? null, describeEvent(event), change.origin);
      if (this.targets.alertSync) this.deliverToAzure(incident, decision.events);
    }
    return incident;
  }

  /**
   * Ends a maintenance hold: an incident still open is sent now (its tool has never seen it); one
   * resolved inside the window never is.
   */
  release(incident: StoredIncident, bindings: readonly CiBinding[]): StoredIncident {
    const released: StoredIncident = { ...incident, hold: null };
    this.keep(released, false, true);
    const sent = released.state === "open";
    this.addEvents(incident.id, [
      { type: "released", at: this.now.toISOString(), notificationId: null, actor: null, detail: { window: incident.hold?.window ?? null, sent } },
    ]);
    if (sent) this.deliver(released, ["open"], bindings, null);
    return released;
  }

  private keep(incident: StoredIncident, isNew: boolean, changed: boolean): void {
    if (isNew) this.inserted.set(incident.id, incident);
    else if (changed) this.updated.set(incident.id, incident);
  }

  private addEvents(incidentId: string, events: readonly IncidentEvent[]): void {
    for (const event of events) this.events.push({ ...event, incidentId });
  }

  private deliver(incident: StoredIncident, actions: readonly DeliveryAction[], bindings: readonly CiBinding[], note: string | null, said: string | null = null, origin?: string): void {
    if (actions.length === 0) return;
    for (const { connector, fields } of destinations(incident, this.targets)) {
      if (connector === origin) continue;
      const snapshot = snapshotOf(incident.id, incident, bindings, note, fields, { ticketGeneration: incident.ticketGeneration, said });
      for (const action of actions) this.deliveries.push({ incidentId: incident.id, connector, action, snapshot, maxAgeMs: this.targets.maxAgeMs });
    }
  }

  /** The Azure alert's own state follows what people and the receiver did (azure/alerts.ts decides what). */
  private deliverToAzure(incident: StoredIncident, events: readonly IncidentEvent[]): void {
    for (const event of events) {
      for (const action of azureActionsFor(event)) {
        const snapshot = snapshotOf(incident.id, incident, [], null, {}, { ticketGeneration: incident.ticketGeneration, said: describeEvent(event) });
        this.deliveries.push({ incidentId: incident.id, connector: AZURE_ALERTS, action, snapshot, maxAgeMs: this.targets.maxAgeMs });
      }
    }
  }
}

/** Writes a change set in the caller's transaction (store/ledger-writes.ts: two statements, whatever its size). */
export function writeChanges(tx: Transaction, changes: ChangeSet): void {
  writeLedger(tx, { inserted: [...changes.inserted.values()], updated: [...changes.updated.values()], events: changes.events, bindings: changes.bindings, deliveries: changes.deliveries });
}
