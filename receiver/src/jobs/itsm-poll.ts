/**
 * ITSM → receiver, the poll door (docs/incidents.md#the-closed-loop), for tools that cannot call
 * out: every `pollEvery`, the tickets a connector created that changed since the last poll are
 * read in pages, oldest first, and each change a person made is applied like a pushed event (the
 * read is the proof, so nothing is read twice). One replica polls each connector at a time (a
 * lease); the cursor is saved after every page, so a restart or a 429 loses nothing and repeats at
 * most one page (applied once: each change has a stable event id). At most POLL_PAGES_PER_RUN
 * requests per run keep a poll inside the tool's hourly rate limit.
 */
import type { FastifyBaseLogger } from "fastify";
import { type Ticket, type TicketSync } from "../connectors/tickets.ts";
import type { DeliveryTargets } from "../ledger/change-set.ts";
import { applyTicketEvent, type TicketEvent, type TicketEventOutcome, type TicketEventState } from "../ledger/itsm-event.ts";
import { countIncidentChanges, type Metrics } from "../metrics.ts";
import { DeliveryError } from "../outbox/delivery.ts";
import type { Database } from "../store/database.ts";
import { findLinkedTicket, oldestOpenTicketTime, pollCursor, savePollCursor } from "../store/itsm-sync.ts";
import { getIncident } from "../store/ledger-queries.ts";
import { acquireLease } from "../store/leases.ts";
import { every, type Job } from "./every.ts";

export const POLL_PAGES_PER_RUN = 10;

export interface PolledConnector {
  name: string;
  tickets: TicketSync;
  pollEveryMs: number;
}

const EVENT_STATE: Readonly<Record<Ticket["state"], TicketEventState>> = { active: "reopened", resolved: "resolved", closed: "closed", canceled: "canceled" };

/** How a failed poll run is counted: the tool throttled us, refused us, or failed. */
function failureOutcome(error: unknown): "throttled" | "forbidden" | "failed" {
  const message = (error as Error)?.message ?? "";
  if (error instanceof DeliveryError && error.retryAfterMs !== undefined) return "throttled";
  if (/ answered 429\b/.test(message)) return "throttled";
  if (/ answered 40[13]\b/.test(message)) return "forbidden";
  return "failed";
}

/** One poll run of one connector; what it applied, by outcome. */
export async function pollConnector(
  options: { db: Database; connector: PolledConnector; targets: DeliveryTargets; metrics: Metrics; now?: () => Date },
): Promise<Partial<Record<TicketEventOutcome, number>>> {
  const { db, connector, targets, metrics } = options;
  const now = options.now ?? (() => new Date());
  const counts: Partial<Record<TicketEventOutcome, number>> = {};
  let cursor = (await pollCursor(db, connector.name)) ?? { changedAt: (await oldestOpenTicketTime(db, connector.name)) ?? now().toISOString(), seen: 0 };
  for (let page = 0; page < POLL_PAGES_PER_RUN; page++) {
    const read = await connector.tickets.changedTickets(cursor);
    for (const ticket of read.tickets) {
      const link = await findLinkedTicket(db, connector.name, ticket.id);
      if (!link) continue;
      // An active ticket only matters when a person closed the incident there and reopened the ticket since.
      if (ticket.state === "active") {
        const incident = await getIncident(db, link.incidentId);
        if (!incident || incident.state !== "resolved" || incident.resolution !== "itsm") continue;
      }
      const event: TicketEvent = {
        eventId: `poll:${ticket.id}:${ticket.changedAt ?? ""}:${ticket.state}`,
        ticket: ticket.id,
        state: EVENT_STATE[ticket.state],
        by: ticket.by ?? `${connector.tickets.tool} (poll)`,
        at: ticket.changedAt ?? now().toISOString(),
      };
      const applied = await applyTicketEvent(db, { connector: { name: connector.name, tool: connector.tickets.tool }, incidentId: link.incidentId, event, ticket }, targets, now());
      if (applied.incident) countIncidentChanges(metrics, applied.events, applied.incident.family);
      metrics.itsmEvents.inc({ connector: connector.name, source: "poll", outcome: applied.outcome });
      counts[applied.outcome] = (counts[applied.outcome] ?? 0) + 1;
    }
    cursor = read.cursor;
    await savePollCursor(db, connector.name, cursor);
    if (!read.more) break;
  }
  return counts;
}

export function startItsmPolls(options: { db: Database; connectors: readonly PolledConnector[]; targets: DeliveryTargets; metrics: Metrics; log: FastifyBaseLogger; holder: string }): Job[] {
  return options.connectors.map((connector) => {
    const job = `poll:${connector.name}`;
    const log = options.log.child({ connector: connector.name });
    return every({ name: `ITSM poll of ${connector.name}`, intervalMs: connector.pollEveryMs, firstAfterMs: Math.min(connector.pollEveryMs, 10_000), log }, async () => {
      // A run may take a while: the lease outlives it, and another replica takes over after the holder stops renewing.
      if (!(await acquireLease(options.db, job, options.holder, connector.pollEveryMs + 120_000))) return;
      try {
        const counts = await pollConnector({ db: options.db, connector, targets: options.targets, metrics: options.metrics });
        options.metrics.syncRuns.inc({ job, outcome: "ok" });
        if (Object.keys(counts).length > 0) log.info({ applied: counts }, `ITSM poll of ${connector.name}`);
      } catch (error) {
        const outcome = failureOutcome(error);
        options.metrics.syncRuns.inc({ job, outcome });
        log.warn({ err: error, outcome }, `ITSM poll of ${connector.name} stopped (${outcome}); it goes on from where it got to next time`);
      }
    });
  });
}
