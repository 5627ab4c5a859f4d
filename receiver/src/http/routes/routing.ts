/** POST /api/routing/explain: what the routing rules would do with an alert now, and why. Stores nothing. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { CommonAlert } from "../../alerts/schema.ts";
import { describeErrors } from "../../alerts/validate.ts";
import { explainNoiseNow } from "../../ledger/explain-noise.ts";
import { prepareNotification } from "../../ledger/prepare-notification.ts";
import { explain } from "../../routing/explain.ts";
import type { RoutingRules } from "../../routing/load-rules.ts";
import type { Database } from "../../store/database.ts";
import { utcTime } from "../../store/storable.ts";
import { principalOf } from "../authenticate.ts";
import { RoutingExplained } from "../ledger-schemas.ts";
import { problems, sendProblem } from "../problems.ts";
import { responses } from "../route-responses.ts";

const ExplainQuery = Type.Object({ at: Type.Optional(Type.String({ format: "date-time", description: "Explain as of this time (default: now), e.g. to check a maintenance window" })) });

export const routingRoutes: FastifyPluginAsyncTypebox<{ routing: RoutingRules; db: Database }> = async (app, { routing, db }) => {
  app.post(
    "/explain",
    {
      config: { access: "reader", alertBody: true },
      schema: {
        summary: "Explain what the routing rules would do with an alert (admission, routes, connectors, fields, maintenance, noise control and silences), without storing it",
        tags: ["routing"],
        security: [{ bearer: [] }],
        body: CommonAlert,
        querystring: ExplainQuery,
        response: responses({ 200: RoutingExplained }, ["invalid_request", "malformed_json", "payload_too_large", "unsupported_media_type", "unsupported_content_encoding", "not_common_alert_schema", "store_unavailable"]),
      },
      schemaErrorFormatter: (errors, part) => new Error(part === "body" ? describeErrors(errors).message : `${part}${errors[0]?.instancePath ?? ""} must be a date-time`),
    },
    async (request, reply) => {
      const { at } = request.query;
      const when = at === undefined ? new Date().toISOString() : utcTime(at);
      if (when === null) return sendProblem(reply, problems.invalidRequest("querystring/at must be a time between the years 0001 and 9999"));
      const prepared = prepareNotification(request.body, "", principalOf(request));
      if (!prepared.ok) return sendProblem(reply, problems.notCommonAlertSchema(prepared.message));
      const explained = explain(routing, prepared.notification.alert, new Date(when));
      if (!explained.admitted) return { ...explained, noiseNow: null };
      // Silences, open groups and storm budgets live in the ledger: read, never written.
      const live = await explainNoiseNow(db, explained, prepared.notification.alert, new Date(when));
      return { ...explained, explanation: [...explained.explanation, ...live.explanation], noiseNow: live.now };
    },
  );
};
