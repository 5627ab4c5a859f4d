/** Silences (docs/noise.md#silences): add (operator), list (reader), expire now (operator). */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { addSilence, expireSilenceNow } from "../../ledger/silences.ts";
import { parseDuration } from "../../routing/maintenance.ts";
import { compileMatcher, type MatchSpec } from "../../routing/match.ts";
import { formatPath, type Problem as RulesProblem } from "../../routing/problems.ts";
import type { Database } from "../../store/database.ts";
import { isUuid } from "../../store/ledger-queries.ts";
import { getSilence, listSilences, silenceState, type Silence as StoredSilence } from "../../store/noise.ts";
import { storableText, utcTime } from "../../store/storable.ts";
import { principalOf } from "../authenticate.ts";
import { IdParams, Page, Silence, SilenceBody, SilenceExpired, SilenceQuery } from "../ledger-schemas.ts";
import { decodeCursor, page } from "../pagination.ts";
import { problems, sendProblem } from "../problems.ts";
import { responses } from "../route-responses.ts";

const security = [{ bearer: [] }];
/** Longer silences are almost surely a mistake (a year-long silence hides an outage); expire and add again to go on. */
const MAX_SILENCE_MS = 366 * 86_400_000;

type Position = { createdAt: string; id: string };
const isPosition = (v: unknown): v is Position =>
  typeof v === "object" && v !== null && "createdAt" in v && "id" in v && typeof v.createdAt === "string" && utcTime(v.createdAt) === v.createdAt && typeof v.id === "string" && isUuid(v.id);

function present(silence: StoredSilence, now: string) {
  return { ...silence, state: silenceState(silence, now) };
}

/** The match's problems in the words the rules checker uses, with the body's path. */
function matchProblems(match: MatchSpec): string | null {
  const found: RulesProblem[] = [];
  const matcher = compileMatcher(match, ["match"], found);
  if (found.length > 0) return found.map((p) => `body/${formatPath(p.path).replace(/\./g, "/")} ${p.message}`).join("; ");
  if (matcher.matchesAll) return "body/match must name at least one field: an empty match would silence every alert";
  return null;
}

export const silenceRoutes: FastifyPluginAsyncTypebox<{ db: Database }> = async (app, { db }) => {
  app.post(
    "",
    {
      config: { access: "operator" },
      schema: {
        summary: "Add a silence: new incidents it matches are held until it ends (like `amtool silence add`)",
        tags: ["silences"],
        security,
        body: SilenceBody,
        response: responses({ 201: Silence }, ["invalid_request", "malformed_json", "payload_too_large", "unsupported_media_type", "unsupported_content_encoding", "store_unavailable"]),
      },
    },
    async (request, reply) => {
      const body = request.body;
      const now = new Date();
      const wrong = matchProblems(body.match as MatchSpec);
      if (wrong) return sendProblem(reply, problems.invalidRequest(wrong));
      const startsAt = body.startsAt === undefined ? now.toISOString() : utcTime(body.startsAt);
      if (startsAt === null) return sendProblem(reply, problems.invalidRequest("body/startsAt must be a time between the years 0001 and 9999"));
      if ((body.endsAt === undefined) === (body.duration === undefined)) return sendProblem(reply, problems.invalidRequest("body must have endsAt or duration (one of them)"));
      let endsAt: string | null;
      if (body.duration !== undefined) {
        const ms = parseDuration(body.duration);
        if (ms === null) return sendProblem(reply, problems.invalidRequest(`body/duration must be a duration such as 30m, 2h, 1d or PT2H, got ${JSON.stringify(body.duration)}`));
        endsAt = new Date(Date.parse(startsAt) + ms).toISOString();
      } else {
        endsAt = utcTime(body.endsAt!);
        if (endsAt === null) return sendProblem(reply, problems.invalidRequest("body/endsAt must be a time between the years 0001 and 9999"));
      }
      if (Date.parse(endsAt) <= Date.parse(startsAt)) return sendProblem(reply, problems.invalidRequest(`body/endsAt must be after startsAt (${startsAt})`));
      if (Date.parse(endsAt) <= now.getTime()) return sendProblem(reply, problems.invalidRequest(`body/endsAt is in the past (${endsAt}): such a silence would hold nothing`));
      if (Date.parse(endsAt) - Date.parse(startsAt) > MAX_SILENCE_MS) return sendProblem(reply, problems.invalidRequest("body/endsAt must be within 366 days of startsAt"));
      const caller = principalOf(request);
      const silence = await addSilence(db, { match: body.match as MatchSpec, startsAt, endsAt, comment: storableText(body.comment), createdBy: caller.objectId ?? caller.callerId });
      request.log.info({ silenceId: silence.id, endsAt: silence.endsAt, createdBy: silence.createdBy }, "silence added");
      return reply.code(201).send(present(silence, now.toISOString()));
    },
  );

  app.get(
    "",
    {
      config: { access: "reader" },
      schema: { summary: "List silences, newest first", tags: ["silences"], security, querystring: SilenceQuery, response: responses({ 200: Page(Silence) }, ["invalid_request", "invalid_cursor", "store_unavailable"]) },
    },
    async (request, reply) => {
      const q = request.query;
      const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, isPosition);
      if (after === null) return sendProblem(reply, problems.invalidCursor());
      const now = new Date().toISOString();
      const limit = q.limit ?? 50;
      const found = await listSilences(db, { now, limit, ...(q.state ? { state: q.state } : {}), ...(after ? { after } : {}) });
      return page(found, limit, (last) => ({ createdAt: last.createdAt, id: last.id }), (s) => present(s, now));
    },
  );

  app.get(
    "/:id",
    {
      config: { access: "reader" },
      schema: { summary: "One silence", tags: ["silences"], security, params: IdParams, response: responses({ 200: Silence }, ["invalid_request", "not_found", "store_unavailable"]) },
    },
    async (request, reply) => {
      const { id } = request.params;
      const silence = isUuid(id) ? await getSilence(db, id) : null;
      if (!silence) return sendProblem(reply, problems.notFound(`silence ${id}`));
      return present(silence, new Date().toISOString());
    },
  );

  app.delete(
    "/:id",
    {
      config: { access: "operator" },
      schema: {
        summary: "Expire a silence now: what it held is sent if still open (like `amtool silence expire`)",
        tags: ["silences"],
        security,
        params: IdParams,
        response: responses({ 200: SilenceExpired }, ["invalid_request", "not_found", "store_unavailable"]),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const caller = principalOf(request);
      const now = new Date();
      const outcome = isUuid(id) ? await expireSilenceNow(db, { id, actor: caller.objectId ?? caller.callerId, now }) : null;
      if (!outcome) return sendProblem(reply, problems.notFound(`silence ${id}`));
      request.log.info({ silenceId: id, changed: outcome.changed, released: outcome.released }, outcome.changed ? "silence expired" : "silence was already over");
      return { silence: present(outcome.silence, now.toISOString()), released: outcome.released };
    },
  );
};
