import type { FastifyInstance } from "fastify";
import type { Static } from "typebox";
import { getDelivery, isDeliveryId, listDeliveries } from "../../store/delivery-queries.ts";
import { retryDelivery } from "../../store/outbox.ts";
import type { AppContext } from "../context.ts";
import { authenticate } from "../authenticate.ts";
import { responses } from "../route-responses.ts";
import { Delivery, DeliveryQuery, IdParams, Page } from "../ledger-schemas.ts";
import { decodeCursor, encodeCursor } from "../presenters.ts";
import { problems, sendProblem } from "../problems.ts";


/** The outbox as operators see it: what is pending, what is dead-lettered, and a replay. */
export function deliveryRoutes(app: FastifyInstance, ctx: AppContext): void {
  const reader = authenticate(ctx.verifier, { role: ctx.config.auth.readerRole });
  const operator = authenticate(ctx.verifier, { role: ctx.config.auth.operatorRole });
  const security = [{ bearer: [] }];

  app.get(
    "/api/deliveries",
    { onRequest: reader, schema: { summary: "List ITSM deliveries (e.g. status=dead)", tags: ["deliveries"], security, querystring: DeliveryQuery, response: responses({ 200: Page(Delivery) }, ["invalid_request", "invalid_cursor", "store_unavailable"]) } },
    async (request, reply) => {
      const q = request.query as Static<typeof DeliveryQuery>;
      const after = q.cursor ? decodeCursor(q.cursor, isDeliveryId) : undefined;
      if (after === null) return sendProblem(reply, problems.invalidCursor());
      const limit = q.limit ?? 50;
      const items = await listDeliveries(ctx.db, { ...(q.status ? { status: q.status } : {}), ...(q.incidentId ? { incidentIds: [q.incidentId] } : {}), ...(after ? { afterId: after } : {}), limit });
      const last = items.at(-1);
      return { items, nextCursor: last && items.length === limit ? encodeCursor(last.id) : null };
    },
  );

  app.get(
    "/api/deliveries/:id",
    { onRequest: reader, schema: { summary: "One ITSM delivery", tags: ["deliveries"], security, params: IdParams, response: responses({ 200: Delivery }, ["invalid_request", "not_found", "store_unavailable"]) } },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParams>;
      return (await getDelivery(ctx.db, id)) ?? sendProblem(reply, problems.notFound(`delivery ${id}`));
    },
  );

  app.post(
    "/api/deliveries/:id/retry",
    {
      onRequest: operator,
      schema: { summary: "Replay a dead-lettered delivery", tags: ["deliveries"], security, params: IdParams, response: responses({ 202: Delivery }, ["invalid_request", "not_found", "not_dead_lettered", "store_unavailable"]) },
    },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParams>;
      const existing = await getDelivery(ctx.db, id);
      if (!existing) return sendProblem(reply, problems.notFound(`delivery ${id}`));
      const replayed = await ctx.db.transaction((tx) => retryDelivery(tx, id, ctx.config.outbox.maxAgeMs));
      if (!replayed) return sendProblem(reply, problems.notDeadLettered(id, existing.status));
      request.log.info({ incidentId: existing.incidentId, deliveryId: id, connector: existing.connector }, "delivery replayed by operator");
      return reply.code(202).send(await getDelivery(ctx.db, id));
    },
  );
}
