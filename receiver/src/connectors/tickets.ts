/**
 * Reading tickets back (docs/incidents.md#the-closed-loop): a connector whose tool keeps tickets
 * can say what state one is in now (the receiver re-reads a ticket before acting on an event: the
 * event is a hint, not proof) and list the tickets it created that changed since a point (the poll,
 * for tools that cannot call out). Each tool maps its own states onto these.
 */
import type { Connector } from "../outbox/delivery.ts";

/** `active` covers every state a person is still working in (new, in progress, on hold, pending…). */
export type TicketState = "active" | "resolved" | "closed" | "canceled";

export interface Ticket {
  /** What the connector's links hold (ServiceNow's sys_id, BMC Helix's Incident Number). */
  id: string;
  number: string | null;
  state: TicketState;
  /** The tool's own value ("6", "Resolved"), for the timeline. */
  toolState: string;
  correlationKey: string | null;
  closeCode: string | null;
  closeNotes: string | null;
  /** Who changed it last, as the tool names them. */
  by: string | null;
  assignee: string | null;
  /** When it last changed, ISO 8601 (null when the tool did not say). */
  changedAt: string | null;
}

/** Where a poll has got to: the tool's last-modified time, and how many tickets of that time were read. */
export interface PollCursor {
  changedAt: string;
  seen: number;
}

export interface TicketPage {
  tickets: Ticket[];
  cursor: PollCursor;
  /** Another page is waiting. */
  more: boolean;
}

/** Tickets per poll request: small pages keep a poll inside a tool's hourly rate limit. */
export const POLL_PAGE_SIZE = 100;

export interface TicketSync {
  /** How the docs and the timeline name the tool ("ServiceNow"). */
  readonly tool: string;
  /** The ticket by what a link or an event calls it; null when the tool has no such ticket. Throws DeliveryError. */
  readTicket(ref: string): Promise<Ticket | null>;
  /** One page of the tickets this connector created that changed at or after the cursor, oldest first. Throws DeliveryError. */
  changedTickets(cursor: PollCursor, pageSize?: number): Promise<TicketPage>;
}

export function ticketSyncOf(connector: Connector): TicketSync | null {
  const candidate = connector as Partial<TicketSync>;
  return typeof candidate.readTicket === "function" && typeof candidate.changedTickets === "function" ? (connector as Connector & TicketSync) : null;
}

/** The next cursor after a page read from `cursor`, oldest first. */
export function advanceCursor(cursor: PollCursor, tickets: readonly Ticket[]): PollCursor {
  const times = tickets.map((t) => t.changedAt).filter((t): t is string => t !== null);
  const last = times[times.length - 1];
  if (!last) return cursor;
  const atLast = times.filter((t) => t === last).length;
  return last === cursor.changedAt ? { changedAt: last, seen: cursor.seen + atLast } : { changedAt: last, seen: atLast };
}
