/** The configuration items alerts bound, and the open incidents on each. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { Database } from "../../store/database.ts";
import { getCi, incidentsWithRelations, isUuid, listCis, listIncidents } from "../../store/ledger-queries.ts";
import { CiQuery, ConfigurationItem, IdParams, Incident, Page } from "../ledger-schemas.ts";
import { decodeCursor, page } from "../pagination.ts";
import { presentCi, presentIncident } from "../presenters.ts";
import { problems, sendProblem } from "../problems.ts";
import { responses } from "../route-responses.ts";

const CiDetail = Type.Object({ ...ConfigurationItem.properties, incidents: Type.Array(Incident, { description: "Open incidents bound to this CI." }) });
const isId = (v: unknown): v is string => typeof v === "string" && isUuid(v);
const security = [{ bearer: [] }];

export const configurationItemRoutes: FastifyPluginAsyncTypebox<{ db: Database }> = async (app, { db }) => {
  app.get(
    "",
    { config: { access: "reader" }, schema: { summary: "List configuration items", tags: ["cmdb"], security, querystring: CiQuery, response: responses({ 200: Page(ConfigurationItem) }, ["invalid_request", "invalid_cursor", "store_unavailable"]) } },
    async (request, reply) => {
      const q = request.query;
      const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, isId);
      if (after === null) return sendProblem(reply, problems.invalidCursor());
      const limit = q.limit ?? 50;
      const cis = await listCis(db, { ...(q.bound === undefined ? {} : { bound: q.bound }), ...(after ? { after } : {}), limit });
      return page(cis, limit, (last) => last.id, presentCi);
    },
  );

  app.get(
    "/:id",
    { config: { access: "reader" }, schema: { summary: "One configuration item (by id or ARM resource id) and its open incidents", tags: ["cmdb"], security, params: IdParams, response: responses({ 200: CiDetail }, ["invalid_request", "not_found", "uri_too_long", "store_unavailable"]) } },
    async (request, reply) => {
      const { id } = request.params;
      const ci = await getCi(db, id);
      if (!ci) return sendProblem(reply, problems.notFound(`configuration item ${id}`));
      const open = await listIncidents(db, { ci: ci.id, state: "open", limit: 200 });
      return { ...presentCi(ci), incidents: (await incidentsWithRelations(db, open)).map(presentIncident) };
    },
  );
};
