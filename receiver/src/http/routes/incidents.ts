/** The incidents: list, one with its timeline, and an operator's resolve. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { actorOf } from "../../auth/token-rules.ts";
import type { DeliveryTargets } from "../../ledger/change-set.ts";
import { resolveIncident } from "../../ledger/resolve-incident.ts";
import { updateIncident } from "../../ledger/update-incident.ts";
import { countIncidentChanges, type Metrics } from "../../metrics.ts";
import type { Database } from "../../store/database.ts";
import { incidentEvidence } from "../../store/evidence.ts";
import type { StoredIncident } from "../../store/incidents.ts";
import { getIncident, incidentsWithRelations, incidentTimeline, isUuid, listIncidents } from "../../store/ledger-queries.ts";
import { storableText, utcTime } from "../../store/storable.ts";
import { principalOf } from "../authenticate.ts";
import { CommentBody, IdParams, Incident, IncidentDetail, IncidentQuery, Page, ResolveBody } from "../ledger-schemas.ts";
import { decodeCursor, page } from "../pagination.ts";
import { presentIncident } from "../presenters.ts";
import { problems, sendProblem } from "../problems.ts";
import { responses } from "../route-responses.ts";

type Position = { firedAt: string; id: string };
/** Only a position this API wrote: a time exactly as it prints them, and an incident id. */
const isPosition = (v: unknown): v is Position =>
  typeof v === "object" && v !== null && "firedAt" in v && "id" in v && typeof v.firedAt === "string" && utcTime(v.firedAt) === v.firedAt && typeof v.id === "string" && isUuid(v.id);

const security = [{ bearer: [] }];

export const incidentRoutes: FastifyPluginAsyncTypebox<{ db: Database; metrics: Metrics; targets: DeliveryTargets }> = async (app, { db, metrics, targets }) => {
  async function detail(incident: StoredIncident) {
    const [related, timeline, evidence] = await Promise.all([incidentsWithRelations(db, [incident]), incidentTimeline(db, incident.id), incidentEvidence(db, incident.id)]);
    return { ...related.map(presentIncident)[0], timeline, evidence };
  }

  app.get(
    "",
    {
      config: { access: "reader" },
      schema: { summary: "List incidents, newest first", tags: ["incidents"], security, querystring: IncidentQuery, response: responses({ 200: Page(Incident) }, ["invalid_request", "invalid_cursor", "store_unavailable"]) },
    },
    async (request, reply) => {
      const q = request.query;
      const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, isPosition);
      if (after === null) return sendProblem(reply, problems.invalidCursor());
      // The store is handed the time in UTC: any offset a date-time may carry, within the years it can hold.
      const range: { firedFrom?: string; firedTo?: string } = {};
      for (const [name, value, key] of [["from", q.from, "firedFrom"], ["to", q.to, "firedTo"]] as const) {
        if (value === undefined) continue;
        const utc = utcTime(value);
        if (utc === null) return sendProblem(reply, problems.invalidRequest(`querystring/${name} must be a time between the years 0001 and 9999`));
        range[key] = utc;
      }
      const limit = q.limit ?? 50;
      const incidents = await listIncidents(db, {
        ...(q.alertId ? { alertId: q.alertId } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
        ...(q.problemId ? { problemId: q.problemId } : {}),
        ...(q.state ? { state: q.state } : {}),
        ...(q.severity ? { severity: q.severity } : {}),
        ...(q.ci ? { ci: q.ci } : {}),
        ...range,
        ...(after ? { after } : {}),
        limit,
      });
      return page(await incidentsWithRelations(db, incidents), limit, (last) => ({ firedAt: last.incident.firedAt, id: last.incident.id }), presentIncident);
    },
  );

  app.get(
    "/:id",
    {
      config: { access: "reader" },
      schema: { summary: "One incident with its timeline and configuration items", tags: ["incidents"], security, params: IdParams, response: responses({ 200: IncidentDetail }, ["invalid_request", "not_found", "store_unavailable"]) },
    },
    async (request, reply) => {
      const { id } = request.params;
      const incident = await getIncident(db, id);
      if (!incident) return sendProblem(reply, problems.notFound(`incident ${id}`));
      return detail(incident);
    },
  );

  app.post(
    "/:id/resolve",
    {
      config: { access: "operator" },
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
      const { id } = request.params;
      const text = request.body?.note;
      const note = text === undefined ? null : storableText(text);
      const actor = actorOf(principalOf(request));
      const outcome = isUuid(id) ? await resolveIncident(db, { incidentId: id, actor, note, at: new Date().toISOString() }, targets) : null;
      if (!outcome) return sendProblem(reply, problems.notFound(`incident ${id}`));
      countIncidentChanges(metrics, outcome.events, outcome.incident.family);
      request.log.info({ alertId: outcome.incident.alertId, incidentId: id, actor, changed: outcome.events.length > 0 }, "incident resolved by operator");
      return detail(outcome.incident);
    },
  );

  // Acknowledge and comment: the timeline has them, and the incident's tickets get a note (and, for
  // an acknowledgement, its Azure alert becomes Acknowledged) through the outbox.
  for (const [path, type, summary, body] of [
    ["/:id/acknowledge", "acknowledged", "Acknowledge an open incident: its tickets get a note, its Azure alert becomes Acknowledged", ResolveBody],
    ["/:id/comment", "commented", "Comment on an incident: its tickets get the note", CommentBody],
  ] as const) {
    app.post(
      path,
      {
        config: { access: "operator" },
        schema: {
          summary,
          tags: ["incidents"],
          security,
          params: IdParams,
          body,
          response: responses({ 200: IncidentDetail }, ["invalid_request", "malformed_json", "not_found", "payload_too_large", "unsupported_media_type", "unsupported_content_encoding", "store_unavailable"]),
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const text = (request.body as { note?: string } | null)?.note;
        const note = text === undefined ? null : storableText(text);
        const caller = principalOf(request);
        const actor = caller.objectId ?? caller.callerId;
        const outcome = isUuid(id) ? await updateIncident(db, { incidentId: id, type, actor, note, at: new Date().toISOString() }, targets) : null;
        if (!outcome) return sendProblem(reply, problems.notFound(`incident ${id}`));
        request.log.info({ alertId: outcome.incident.alertId, incidentId: id, actor, type, changed: outcome.events.length > 0 }, `incident ${type} by operator`);
        return detail(outcome.incident);
      },
    );
  }
};
