import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { CommonAlert } from "../../alerts/schema.ts";
import { commonAlertValidator, describeErrors } from "../../alerts/validate.ts";
import { prepareNotification } from "../../ledger/prepare-notification.ts";
import { explain } from "../../routing/explain.ts";
import { authenticate } from "../authenticate.ts";
import { responses } from "../route-responses.ts";
import type { AppContext } from "../context.ts";
import { RoutingExplanation } from "../ledger-schemas.ts";
import { problems, sendProblem } from "../problems.ts";

/** POST /api/routing/explain: what the routing rules would do with an alert now, and why. Stores nothing. */
export function routingRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post(
    "/api/routing/explain",
    {
      onRequest: authenticate(ctx.verifier, { role: ctx.config.auth.readerRole }),
      schema: {
        summary: "Explain what the routing rules would do with an alert (admission, routes, connectors, fields, maintenance), without storing it",
        tags: ["routing"],
        security: [{ bearer: [] }],
        body: CommonAlert,
        querystring: Type.Object({ at: Type.Optional(Type.String({ format: "date-time", description: "Explain as of this time (default: now), e.g. to check a maintenance window" })) }),
        response: responses({ 200: RoutingExplanation }, ["invalid_request", "malformed_json", "payload_too_large", "unsupported_media_type", "unsupported_content_encoding", "not_common_alert_schema"]),
      },
      validatorCompiler: ({ httpPart }) => (httpPart === "body" ? commonAlertValidator : () => true),
      schemaErrorFormatter: (errors) => new Error(describeErrors(errors).message),
    },
    async (request, reply) => {
      const { at } = request.query as { at?: string };
      const when = at === undefined ? new Date() : new Date(at);
      if (Number.isNaN(when.getTime())) return sendProblem(reply, problems.invalidRequest("querystring/at must be a date-time"));
      const body = request.body as CommonAlert;
      const prepared = prepareNotification(body, "", request.principal!);
      if (!prepared.ok) return sendProblem(reply, problems.notCommonAlertSchema(prepared.message));
      return explain(ctx.config.routing, prepared.notification.alert, when);
    },
  );
}
