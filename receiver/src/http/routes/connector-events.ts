/**
 * ITSM → receiver, the push door (docs/http-api.md#itsm-events): a tool's client application
 * (ServiceNow's Business Rule, a BMC Helix webhook) reports a change a person made to a ticket. A
 * separate door from the secure webhook: its own app role (`Itsm.Sync`, app-only tokens), and a
 * client may only speak for the connectors that list it in `syncClients`, about tickets that
 * connector created. A close or a reopen is read back from the tool before it counts.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { applyTicketEvent, needsReadBack, type TicketEvent } from "../../ledger/itsm-event.ts";
import type { DeliveryTargets } from "../../ledger/change-set.ts";
import { countIncidentChanges, type Metrics } from "../../metrics.ts";
import type { Database } from "../../store/database.ts";
import { findLinkedTicket, itsmEventOutcome } from "../../store/itsm-sync.ts";
import { storableText } from "../../store/storable.ts";
import { principalOf } from "../authenticate.ts";
import type { SyncConnector } from "../context.ts";
import { ConnectorParams, TicketEventAnswer, TicketEventBody } from "../ledger-schemas.ts";
import { problems, sendProblem } from "../problems.ts";
import { responses } from "../route-responses.ts";

const security = [{ bearer: [] }];

export const connectorEventRoutes: FastifyPluginAsyncTypebox<{ db: Database; metrics: Metrics; targets: DeliveryTargets; sync: ReadonlyMap<string, SyncConnector> }> = async (
  app,
  { db, metrics, targets, sync },
) => {
  app.post(
    "/:name/events",
    {
      config: { access: "sync" },
      schema: {
        summary: "A person changed a ticket in the ITSM (resolved, closed, canceled, reopened, acknowledged, assigned, commented)",
        tags: ["connectors"],
        security,
        params: ConnectorParams,
        body: TicketEventBody,
        response: responses({ 200: TicketEventAnswer }, [
          "invalid_request",
          "malformed_json",
          "not_found",
          "payload_too_large",
          "unsupported_media_type",
          "unsupported_content_encoding",
          "store_unavailable",
          "itsm_unavailable",
        ]),
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const caller = principalOf(request);
      const connector = sync.get(name);
      // The same answer for a connector that does not exist and one this client may not speak for:
      // a client learns nothing about the connectors of others.
      if (!connector || !connector.syncClients.includes(caller.callerId)) {
        request.log.warn({ connector: name, callerId: caller.callerId }, "ITSM event refused: the client is not a sync client of this connector");
        return sendProblem(reply, problems.forbidden(`client ${caller.callerId} is not a sync client of connector ${name}`));
      }
      if (!connector.tickets) return sendProblem(reply, problems.invalidRequest(`connector ${name} keeps no tickets (ServiceNow event mode): it takes no ticket events`));
      const body = request.body;
      const event: TicketEvent = {
        eventId: body.eventId,
        ticket: body.ticket,
        state: body.state,
        by: storableText(body.by),
        at: body.at,
        ...(body.note === undefined ? {} : { note: storableText(body.note) }),
        ...(body.assignee === undefined ? {} : { assignee: storableText(body.assignee) }),
      };
      const link = await findLinkedTicket(db, name, event.ticket);
      if (!link) return sendProblem(reply, problems.notFound(`ticket ${event.ticket} of connector ${name} (only tickets this connector created are taken)`));
      // A repeat is answered as the first was, without asking the tool again.
      const before = await itsmEventOutcome(db, name, event.eventId);
      if (before) return { outcome: "duplicate" as const, incidentId: link.incidentId };
      let ticket = null;
      if (needsReadBack(event.state)) {
        try {
          ticket = await connector.tickets.readTicket(link.externalId);
        } catch (error) {
          request.log.warn({ connector: name, ticket: event.ticket, err: error }, "ITSM event: the ticket could not be read back");
          return sendProblem(reply, problems.unavailable("itsm_unavailable", `${connector.tickets.tool} did not answer when ticket ${event.ticket} was read back: ${(error as Error).message}`));
        }
      }
      const applied = await applyTicketEvent(db, { connector: { name, tool: connector.tickets.tool }, incidentId: link.incidentId, event, ticket }, targets);
      if (applied.incident) countIncidentChanges(metrics, applied.events, applied.incident.family);
      metrics.itsmEvents.inc({ connector: name, source: "push", outcome: applied.outcome });
      request.log.info({ connector: name, ticket: event.ticket, eventId: event.eventId, state: event.state, outcome: applied.outcome, incidentId: link.incidentId }, "ITSM event");
      return { outcome: applied.outcome, incidentId: link.incidentId };
    },
  );
};
