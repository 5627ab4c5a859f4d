/**
 * The one way an incident change reaches the store. Every command (accepting notifications, an
 * operator's resolve, the quiet-period sweep, the end of a maintenance hold) decides with the pure
 * state machine, records each decision here, and writes the set with `writeChanges`: the same
 * rows, the same deliveries (with the incident's CIs, to the connectors its routing chose),
 * whoever made the change.
 */
import type { CiBinding } from "../cmdb/bindings.ts";
import { actionsFor, snapshotOf, type DeliveryAction } from "../outbox/delivery.ts";
import type { Decision, IncidentEvent } from "../incidents/lifecycle.ts";
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
    change: { id: string; before: StoredIncident | null; decision: Decision; bindings: readonly CiBinding[]; note?: string | null; routing?: RoutingExplanation | null },
  ): StoredIncident {
    const { id, before, decision } = change;
    const routing = before ? before.routing : (change.routing ?? null);
    const hold = before ? before.hold : routing?.maintenance.held && routing.maintenance.window && routing.maintenance.until ? { window: routing.maintenance.window, until: routing.maintenance.until } : null;
    const incident: StoredIncident = { ...decision.incident, id, routing, hold };
    this.keep(incident, before === null || this.inserted.has(id), decision.changed);
    const events = [...decision.events];
    if (!before && routing) {
      const at = decision.events[0]?.at ?? this.now.toISOString();
      events.push({ type: "routed", at, notificationId: null, actor: null, detail: { connectors: routing.connectors, routes: routing.routes.map((r) => r.name), explanation: routing.explanation } });
      if (hold) events.push({ type: "held", at, notificationId: null, actor: null, detail: { window: hold.window, until: hold.until } });
    }
    this.addEvents(id, events);
    for (const binding of change.bindings) this.bindings.push({ incidentId: id, binding });
    // A held incident sends nothing until its hold ends (releaseHeld), whatever happens meanwhile.
    if (!hold || Date.parse(hold.until) <= this.now.getTime()) this.deliver(incident, actionsFor(decision.events), change.bindings, change.note ?? null);
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

  private deliver(incident: StoredIncident, actions: readonly DeliveryAction[], bindings: readonly CiBinding[], note: string | null): void {
    if (actions.length === 0) return;
    for (const { connector, fields } of destinations(incident, this.targets)) {
      const snapshot = snapshotOf(incident.id, incident, bindings, note, fields);
      for (const action of actions) this.deliveries.push({ incidentId: incident.id, connector, action, snapshot, maxAgeMs: this.targets.maxAgeMs });
    }
  }
}

/** Writes a change set in the caller's transaction (store/ledger-writes.ts: two statements, whatever its size). */
export function writeChanges(tx: Transaction, changes: ChangeSet): void {
  writeLedger(tx, { inserted: [...changes.inserted.values()], updated: [...changes.updated.values()], events: changes.events, bindings: changes.bindings, deliveries: changes.deliveries });
}
