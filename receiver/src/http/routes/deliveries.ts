/** The outbox as operators see it: deliveries, and replaying a dead letter. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { replayDelivery } from "../../ledger/replay-delivery.ts";
import type { Database } from "../../store/database.ts";
import { getDelivery, isDeliveryId, listDeliveries } from "../../store/delivery-queries.ts";
import { Delivery, DeliveryQuery, IdParams, Page } from "../ledger-schemas.ts";
import { decodeCursor, page } from "../pagination.ts";
import { problems, sendProblem } from "../problems.ts";
import { responses } from "../route-responses.ts";

const security = [{ bearer: [] }];

export const deliveryRoutes: FastifyPluginAsyncTypebox<{ db: Database; maxAgeMs: number }> = async (app, { db, maxAgeMs }) => {
  app.get(
    "",
    { config: { access: "reader" }, schema: { summary: "List ITSM deliveries (e.g. status=dead)", tags: ["deliveries"], security, querystring: DeliveryQuery, response: responses({ 200: Page(Delivery) }, ["invalid_request", "invalid_cursor", "store_unavailable"]) } },
    async (request, reply) => {
      const q = request.query;
      const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, isDeliveryId);
      if (after === null) return sendProblem(reply, problems.invalidCursor());
      const limit = q.limit ?? 50;
      const items = await listDeliveries(db, { ...(q.status ? { status: q.status } : {}), ...(q.incidentId ? { incidentIds: [q.incidentId] } : {}), ...(after ? { afterId: after } : {}), limit });
      return page(items, limit, (last) => last.id, (item) => item);
    },
  );

  app.get(
    "/:id",
    { config: { access: "reader" }, schema: { summary: "One ITSM delivery", tags: ["deliveries"], security, params: IdParams, response: responses({ 200: Delivery }, ["invalid_request", "not_found", "store_unavailable"]) } },
    async (request, reply) => {
      const { id } = request.params;
      return (await getDelivery(db, id)) ?? sendProblem(reply, problems.notFound(`delivery ${id}`));
    },
  );

  app.post(
    "/:id/retry",
    {
      config: { access: "operator" },
      schema: { summary: "Replay a dead-lettered delivery", tags: ["deliveries"], security, params: IdParams, response: responses({ 202: Delivery }, ["invalid_request", "not_found", "not_dead_lettered", "store_unavailable"]) },
    },
    async (request, reply) => {
      const { id } = request.params;
      const replay = await replayDelivery(db, id, maxAgeMs);
      if (replay.outcome === "not_found") return sendProblem(reply, problems.notFound(`delivery ${id}`));
      if (replay.outcome === "not_dead") return sendProblem(reply, problems.notDeadLettered(id, replay.delivery.status));
      request.log.info({ incidentId: replay.delivery.incidentId, deliveryId: id, connector: replay.delivery.connector }, "delivery replayed by operator");
      return reply.code(202).send(replay.delivery);
    },
  );
};
