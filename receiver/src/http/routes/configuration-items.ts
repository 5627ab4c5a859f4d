import type { FastifyInstance } from "fastify";
import type { Static } from "typebox";
import { getCi, isUuid, listCis, listIncidents } from "../../store/ledger-queries.ts";
import { incidentCis } from "../../store/ledger-queries.ts";
import { latestDeliveries } from "../../store/delivery-queries.ts";
import type { AppContext } from "../context.ts";
import { authenticate } from "../authenticate.ts";
import { responses } from "../route-responses.ts";
import Type from "typebox";
import { CiQuery, ConfigurationItem, IdParams, Incident, Page } from "../ledger-schemas.ts";
import { decodeCursor, encodeCursor, presentCi, presentIncident } from "../presenters.ts";
import { problems, sendProblem } from "../problems.ts";

const CiDetail = Type.Object({ ...ConfigurationItem.properties, incidents: Type.Array(Incident, { description: "Open incidents bound to this CI." }) });
const isId = (v: unknown): v is string => typeof v === "string" && isUuid(v);

export function configurationItemRoutes(app: FastifyInstance, ctx: AppContext): void {
  const reader = authenticate(ctx.verifier, { role: ctx.config.auth.readerRole });
  const security = [{ bearer: [] }];

  app.get(
    "/api/cis",
    { onRequest: reader, schema: { summary: "List configuration items", tags: ["cmdb"], security, querystring: CiQuery, response: responses({ 200: Page(ConfigurationItem) }, ["invalid_request", "invalid_cursor", "store_unavailable"]) } },
    async (request, reply) => {
      const q = request.query as Static<typeof CiQuery>;
      const after = q.cursor ? decodeCursor(q.cursor, isId) : undefined;
      if (after === null) return sendProblem(reply, problems.invalidCursor());
      const limit = q.limit ?? 50;
      const cis = await listCis(ctx.db, { ...(q.bound === undefined ? {} : { bound: q.bound }), ...(after ? { after } : {}), limit });
      const last = cis.at(-1);
      return { items: cis.map(presentCi), nextCursor: last && cis.length === limit ? encodeCursor(last.id) : null };
    },
  );

  app.get(
    "/api/cis/:id",
    { onRequest: reader, schema: { summary: "One configuration item (by id or ARM resource id) and its open incidents", tags: ["cmdb"], security, params: IdParams, response: responses({ 200: CiDetail }, ["invalid_request", "not_found", "uri_too_long", "store_unavailable"]) } },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParams>;
      const ci = await getCi(ctx.db, id);
      if (!ci) return sendProblem(reply, problems.notFound(`configuration item ${id}`));
      const open = await listIncidents(ctx.db, { ci: ci.id, state: "open", limit: 200 });
      const ids = open.map((i) => i.id);
      const [cis, deliveries] = await Promise.all([incidentCis(ctx.db, ids), latestDeliveries(ctx.db, ids)]);
      return { ...presentCi(ci), incidents: open.map((i) => presentIncident(i, cis.get(i.id) ?? [], deliveries.get(i.id) ?? [])) };
    },
  );
}
