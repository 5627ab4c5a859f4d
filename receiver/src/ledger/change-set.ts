/**
 * The one way an incident change reaches the store. Every command (accepting notifications, an
 * operator's resolve, the quiet-period sweep) decides with the pure state machine, records each
 * decision here, and writes the set with `writeChanges`: the same rows, the same deliveries (with
 * the incident's CIs), whoever made the change.
 */
import type { CiBinding } from "../cmdb/bindings.ts";
import { actionsFor, snapshotOf } from "../connectors/delivery.ts";
import type { Decision, IncidentEvent } from "../incidents/lifecycle.ts";
import type { Transaction } from "../store/database.ts";
import { bindConfigurationItems, type IncidentBinding } from "../store/configuration-items.ts";
import { appendEvents, insertIncidents, updateIncidents, type StoredIncident } from "../store/incidents.ts";
import { enqueueDeliveries, type NewDelivery } from "../store/outbox.ts";

/** Where incident changes go: the configured connectors, each delivery retried until maxAgeMs. */
export interface DeliveryTargets {
  connectors: readonly string[];
  maxAgeMs: number;
}

export class ChangeSet {
  private readonly targets: DeliveryTargets;
  readonly inserted = new Map<string, StoredIncident>();
  readonly updated = new Map<string, StoredIncident>();
  readonly events: Array<IncidentEvent & { incidentId: string }> = [];
  readonly bindings: IncidentBinding[] = [];
  readonly deliveries: NewDelivery[] = [];

  constructor(targets: DeliveryTargets) {
    this.targets = targets;
  }

  /**
   * Records one decision about incident `id` (new when `isNew`). `bindings` are the incident's CIs
   * as this change knows them: they are linked, and every delivery the change calls for carries them.
   */
  record(id: string, isNew: boolean, decision: Decision, bindings: readonly CiBinding[], note: string | null = null): StoredIncident {
    const incident: StoredIncident = { ...decision.incident, id };
    if (isNew || this.inserted.has(id)) this.inserted.set(id, incident);
    else if (decision.changed) this.updated.set(id, incident);
    for (const event of decision.events) this.events.push({ ...event, incidentId: id });
    for (const binding of bindings) this.bindings.push({ incidentId: id, binding });
    const actions = actionsFor(decision.events);
    if (actions.length > 0 && this.targets.connectors.length > 0) {
      const snapshot = snapshotOf(id, incident, bindings, note);
      for (const action of actions) {
        for (const connector of this.targets.connectors) this.deliveries.push({ incidentId: id, connector, action, snapshot, maxAgeMs: this.targets.maxAgeMs });
      }
    }
    return incident;
  }
}

/**
 * Writes a change set in the caller's transaction. Statements go out without waiting for each
 * other (one round trip on a pipelining store); new incidents first, so a race with another
 * replica fails the transaction before anything else is written.
 */
export function writeChanges(tx: Transaction, changes: ChangeSet): void {
  insertIncidents(tx, [...changes.inserted.values()]);
  updateIncidents(tx, [...changes.updated.values()]);
  appendEvents(tx, changes.events);
  bindConfigurationItems(tx, changes.bindings);
  enqueueDeliveries(tx, changes.deliveries);
}
