import type { FastifyInstance } from "fastify";
import type { Static } from "typebox";
import { actorOf } from "../../auth/token-rules.ts";
import { storableText, utcTime } from "../../ledger/prepare-notification.ts";
import { resolveIncident } from "../../ledger/resolve-incident.ts";
import { countIncidentChanges } from "../../metrics.ts";
import { latestDeliveries } from "../../store/delivery-queries.ts";
import type { StoredIncident } from "../../store/incidents.ts";
import { getIncident, incidentCis, incidentTimeline, isUuid, listIncidents } from "../../store/ledger-queries.ts";
import type { AppContext } from "../context.ts";
import { authenticate } from "../authenticate.ts";
import { responses } from "../route-responses.ts";
import { IdParams, Incident, IncidentDetail, IncidentQuery, Page, ResolveBody } from "../ledger-schemas.ts";
import { decodeCursor, encodeCursor, presentIncident } from "../presenters.ts";
import { problems, sendProblem } from "../problems.ts";

type Position = { firedAt: string; id: string };
const isPosition = (v: unknown): v is Position =>
  typeof v === "object" && v !== null && typeof (v as Position).firedAt === "string" && utcTime((v as Position).firedAt) !== null && isUuid(String((v as Position).id));

async function incidentDetail(ctx: AppContext, incident: StoredIncident) {
  const [cis, deliveries, timeline] = await Promise.all([incidentCis(ctx.db, [incident.id]), latestDeliveries(ctx.db, [incident.id]), incidentTimeline(ctx.db, incident.id)]);
  return { ...presentIncident(incident, cis.get(incident.id) ?? [], deliveries.get(incident.id) ?? []), timeline };
}

export function incidentRoutes(app: FastifyInstance, ctx: AppContext): void {
  const reader = authenticate(ctx.verifier, { role: ctx.config.auth.readerRole });
  const operator = authenticate(ctx.verifier, { role: ctx.config.auth.operatorRole });
  const security = [{ bearer: [] }];

  app.get(
    "/api/incidents",
    {
      onRequest: reader,
      schema: { summary: "List incidents, newest first", tags: ["incidents"], security, querystring: IncidentQuery, response: responses({ 200: Page(Incident) }, ["invalid_request", "invalid_cursor", "store_unavailable"]) },
    },
    async (request, reply) => {
      const q = request.query as Static<typeof IncidentQuery>;
      const after = q.cursor ? decodeCursor(q.cursor, isPosition) : undefined;
      if (after === null) return sendProblem(reply, problems.invalidCursor());
      for (const [name, value] of [["from", q.from], ["to", q.to]] as const) {
        if (value !== undefined && utcTime(value) === null) return sendProblem(reply, problems.invalidRequest(`querystring/${name} must be a time between the years 0001 and 9999`));
      }
      const limit = q.limit ?? 50;
      const incidents = await listIncidents(ctx.db, {
        ...(q.alertId ? { alertId: q.alertId } : {}),
        ...(q.state ? { state: q.state } : {}),
        ...(q.severity ? { severity: q.severity } : {}),
        ...(q.ci ? { ci: q.ci } : {}),
        ...(q.from ? { firedFrom: q.from } : {}),
        ...(q.to ? { firedTo: q.to } : {}),
        ...(after ? { after } : {}),
        limit,
      });
      const ids = incidents.map((i) => i.id);
      const [cis, deliveries] = await Promise.all([incidentCis(ctx.db, ids), latestDeliveries(ctx.db, ids)]);
      const last = incidents.at(-1);
      return {
        items: incidents.map((i) => presentIncident(i, cis.get(i.id) ?? [], deliveries.get(i.id) ?? [])),
        nextCursor: last && incidents.length === limit ? encodeCursor({ firedAt: last.firedAt, id: last.id }) : null,
      };
    },
  );

  app.get(
    "/api/incidents/:id",
    {
      onRequest: reader,
      schema: { summary: "One incident with its timeline and configuration items", tags: ["incidents"], security, params: IdParams, response: responses({ 200: IncidentDetail }, ["invalid_request", "not_found", "store_unavailable"]) },
    },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParams>;
      const incident = await getIncident(ctx.db, id);
      if (!incident) return sendProblem(reply, problems.notFound(`incident ${id}`));
      return incidentDetail(ctx, incident);
    },
  );

  app.post(
    "/api/incidents/:id/resolve",
    {
      onRequest: operator,
      schema: {
        summary: "Resolve an incident Azure will not resolve (log, activity log, budget alerts)",
        tags: ["incidents"],
        security,
        params: IdParams,
        body: ResolveBody,
        response: responses({ 200: IncidentDetail }, ["invalid_request", "malformed_json", "not_found", "payload_too_large", "unsupported_media_type", "unsupported_content_encoding", "store_unavailable"]),
      },
    },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParams>;
      const text = (request.body as Static<typeof ResolveBody> | undefined)?.note;
      const note = text === undefined ? null : storableText(text);
      const actor = actorOf(request.principal!);
      const outcome = isUuid(id) ? await resolveIncident(ctx.db, { incidentId: id, actor, note, at: new Date().toISOString() }, ctx.targets) : null;
      if (!outcome) return sendProblem(reply, problems.notFound(`incident ${id}`));
      countIncidentChanges(ctx.metrics, outcome.events, outcome.incident.family);
      request.log.info({ alertId: outcome.incident.alertId, incidentId: id, actor, changed: outcome.events.length > 0 }, "incident resolved by operator");
      return incidentDetail(ctx, (await getIncident(ctx.db, id))!);
    },
  );
}
