/**
 * A change a person made in an ITSM, pushed by the tool or found by the poll, applied to the
 * ledger once (docs/incidents.md#the-closed-loop). A close or a reopen only counts as the ticket
 * reads now (the caller reads it back first: the event is a hint, not proof); acknowledgements,
 * assignments and comments go to the timeline. Nothing is sent back to the connector it came from.
 */
import { applyItsmReopen, applyItsmResolve, applyUpdate, type Decision, type IncidentEvent } from "../incidents/lifecycle.ts";
import type { Ticket } from "../connectors/tickets.ts";
import { bindingsOf } from "../store/configuration-items.ts";
import type { Database } from "../store/database.ts";
import { lockIncidentById, type StoredIncident } from "../store/incidents.ts";
import { recordItsmEvent } from "../store/itsm-sync.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";
import { loadNoiseContext } from "./noise-context.ts";

export const TICKET_EVENT_STATES = ["resolved", "closed", "canceled", "reopened", "acknowledged", "assigned", "commented"] as const;
export type TicketEventState = (typeof TICKET_EVENT_STATES)[number];

export interface TicketEvent {
  eventId: string;
  /** What the tool calls the ticket (ServiceNow sys_id or number, BMC Helix Incident Number). */
  ticket: string;
  state: TicketEventState;
  by: string;
  at: string;
  note?: string;
  assignee?: string;
}

/**
 * - `resolved` / `reopened`: the incident changed;
 * - `recorded`: the timeline has it (acknowledged, assigned, commented, a reopen of what Azure resolved);
 * - `no_change`: the incident already was what the event says;
 * - `not_confirmed`: the ticket, read back, is not in the state the event claims;
 * - `duplicate`: this eventId was applied before.
 */
export type TicketEventOutcome = "resolved" | "reopened" | "recorded" | "no_change" | "not_confirmed" | "duplicate";

export const CLOSING_STATES: readonly TicketEventState[] = ["resolved", "closed", "canceled"];

/** Whether the event needs the ticket read back before it counts. */
export const needsReadBack = (state: TicketEventState) => CLOSING_STATES.includes(state) || state === "reopened";

/** Clocks differ: a time ahead of ours is taken as now, so it cannot order itself after later changes. */
function notAfter(at: string, now: Date): string {
  const ms = Date.parse(at);
  return Number.isNaN(ms) || ms > now.getTime() ? now.toISOString() : new Date(ms).toISOString();
}

function decide(current: StoredIncident, connector: { name: string; tool: string }, event: TicketEvent, ticket: Ticket | null, at: string): { decision: Decision | null; outcome: TicketEventOutcome } {
  const ref = ticket?.number ?? event.ticket;
  const base = { connector: connector.name, tool: connector.tool, ticket: ref, source: "itsm" };
  if (CLOSING_STATES.includes(event.state)) {
    if (!ticket || ticket.state === "active") return { decision: null, outcome: "not_confirmed" };
    const decision = applyItsmResolve(current, {
      at,
      connector: connector.name,
      ticket: ref,
      by: event.by,
      state: ticket.state,
      closeCode: ticket.closeCode,
      note: event.note ?? ticket.closeNotes,
    });
    decision.events.forEach((e) => Object.assign(e.detail, { tool: connector.tool, toolState: ticket.toolState }));
    return { decision, outcome: decision.changed ? "resolved" : "no_change" };
  }
  if (event.state === "reopened") {
    if (!ticket || ticket.state !== "active") return { decision: null, outcome: "not_confirmed" };
    const decision = applyItsmReopen(current, { at, connector: connector.name, ticket: ref, by: event.by });
    decision.events.forEach((e) => Object.assign(e.detail, { tool: connector.tool }));
    return { decision, outcome: decision.changed ? "reopened" : decision.events.length ? "recorded" : "no_change" };
  }
  const type = event.state as "acknowledged" | "assigned" | "commented";
  const decision = applyUpdate(current, { type, at, by: event.by, detail: { ...base, ...(event.note ? { note: event.note } : {}), ...(event.assignee ? { assignee: event.assignee } : {}) } });
  return { decision, outcome: decision.events.length ? "recorded" : "no_change" };
}

export interface AppliedTicketEvent {
  outcome: TicketEventOutcome;
  incident: StoredIncident | null;
  events: IncidentEvent[];
}

/** Applies one event to the incident of a ticket the connector created; `ticket` is the ticket as read back (null when not needed or gone). */
export async function applyTicketEvent(
  db: Database,
  command: { connector: { name: string; tool: string }; incidentId: string; event: TicketEvent; ticket: Ticket | null },
  targets: DeliveryTargets,
  now: Date = new Date(),
): Promise<AppliedTicketEvent> {
  const { connector, event, ticket } = command;
  return db.transaction(async (tx) => {
    // Locked first: two deliveries of one event queue here, and the second finds the first's record.
    const current = await lockIncidentById(tx, command.incidentId);
    if (!current) return { outcome: "not_confirmed", incident: null, events: [] };
    const { decision, outcome } = decide(current, connector, event, ticket, notAfter(event.at, now));
    const fresh = await recordItsmEvent(tx, { connector: connector.name, eventId: event.eventId, incidentId: current.id, state: event.state, outcome });
    if (!fresh) return { outcome: "duplicate", incident: current, events: [] };
    if (!decision || decision.events.length === 0) return { outcome, incident: current, events: [] };
    const bindings = (await bindingsOf(tx, [current.id])).get(current.id) ?? [];
    // A member's change reaches its problem (locked after it, in the store's one order: docs/noise.md).
    const alerts = current.kind === "alert" ? [current] : [];
    const context = await loadNoiseContext(tx, { alertIds: alerts.map((i) => i.alertId), incidents: alerts, routings: [], opensIncidents: false, problemBindings: false }, now);
    const changes = new ChangeSet(targets, now, context);
    const incident = changes.record({ id: current.id, before: current, decision, bindings, origin: connector.name });
    writeChanges(tx, changes);
    return { outcome, incident, events: decision.events };
  });
}
