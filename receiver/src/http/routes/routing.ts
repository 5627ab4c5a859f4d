/** POST /api/routing/explain: what the routing rules would do with an alert now, and why. Stores nothing. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { CommonAlert } from "../../alerts/schema.ts";
import { describeErrors } from "../../alerts/validate.ts";
import { prepareNotification } from "../../ledger/prepare-notification.ts";
import { explain } from "../../routing/explain.ts";
import type { RoutingRules } from "../../routing/load-rules.ts";
import { utcTime } from "../../store/storable.ts";
import { principalOf } from "../authenticate.ts";
import { RoutingExplanation } from "../ledger-schemas.ts";
import { problems, sendProblem } from "../problems.ts";
import { responses } from "../route-responses.ts";

const ExplainQuery = Type.Object({ at: Type.Optional(Type.String({ format: "date-time", description: "Explain as of this time (default: now), e.g. to check a maintenance window" })) });

export const routingRoutes: FastifyPluginAsyncTypebox<{ routing: RoutingRules }> = async (app, { routing }) => {
  app.post(
    "/explain",
    {
      config: { access: "reader", alertBody: true },
      schema: {
        summary: "Explain what the routing rules would do with an alert (admission, routes, connectors, fields, maintenance), without storing it",
        tags: ["routing"],
        security: [{ bearer: [] }],
        body: CommonAlert,
        querystring: ExplainQuery,
        response: responses({ 200: RoutingExplanation }, ["invalid_request", "malformed_json", "payload_too_large", "unsupported_media_type", "unsupported_content_encoding", "not_common_alert_schema"]),
      },
      schemaErrorFormatter: (errors, part) => new Error(part === "body" ? describeErrors(errors).message : `${part}${errors[0]?.instancePath ?? ""} must be a date-time`),
    },
    async (request, reply) => {
      const { at } = request.query;
      const when = at === undefined ? new Date().toISOString() : utcTime(at);
      if (when === null) return sendProblem(reply, problems.invalidRequest("querystring/at must be a time between the years 0001 and 9999"));
      const prepared = prepareNotification(request.body, "", principalOf(request));
      if (!prepared.ok) return sendProblem(reply, problems.notCommonAlertSchema(prepared.message));
      return explain(routing, prepared.notification.alert, new Date(when));
    },
  );
};
