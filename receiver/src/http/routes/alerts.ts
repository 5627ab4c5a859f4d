/** POST /api/alerts: the action group's secure webhook. */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { CommonAlert } from "../../alerts/schema.ts";
import { describeErrors } from "../../alerts/validate.ts";
import { prepareNotification } from "../../ledger/prepare-notification.ts";
import { countIncidentChanges, type Metrics } from "../../metrics.ts";
import { explain } from "../../routing/explain.ts";
import { rulesInEffect, type RoutingRules } from "../../routing/load-rules.ts";
import { principalOf } from "../authenticate.ts";
import type { Intake } from "../context.ts";
import { AlertAccepted } from "../ledger-schemas.ts";
import { problems, sendProblem } from "../problems.ts";
import { responses } from "../route-responses.ts";

export const alertRoutes: FastifyPluginAsyncTypebox<{ intake: Intake; routing: RoutingRules; metrics: Metrics }> = async (app, { intake, routing, metrics }) => {
  app.post(
    "",
    {
      config: { access: "webhook", alertBody: true },
      schema: {
        summary: "Receive an Azure Monitor alert (secure webhook, common alert schema)",
        tags: ["alerts"],
        security: [{ bearer: [] }],
        body: CommonAlert,
        response: responses({ 202: AlertAccepted }, [
          "malformed_json", "invalid_request", "payload_too_large", "unsupported_media_type", "unsupported_content_encoding",
          "not_common_alert_schema", "store_unavailable", "intake_busy",
        ]),
      },
      schemaErrorFormatter: (errors) => new Error(describeErrors(errors).message),
    },
    async (request, reply) => {
      const body = request.body;
      // Every log line about this alert, the final one included, carries its alertId.
      request.log = request.log.child({ alertId: body.data.essentials.alertId });
      const prepared = prepareNotification(body, request.rawBody ?? JSON.stringify(body), principalOf(request));
      if (!prepared.ok) return sendProblem(reply, problems.notCommonAlertSchema(prepared.message));
      // Without rules there is nothing to decide: the incident goes to every connector (routing null).
      const decided = rulesInEffect(routing) ? { routing: explain(routing, prepared.notification.alert, new Date()) } : {};
      const accepted = await intake.submit({ ...prepared.notification, ...decided });
      if (!accepted.admitted) {
        // Answered 2xx (Azure must not retry it) and kept, with the rule: visible, never silently dropped.
        request.outcome = { kind: "not_admitted", reason: accepted.rule ?? "default" };
        request.log.info({ notificationId: accepted.notificationId, duplicate: accepted.duplicate, rule: accepted.rule }, "notification stored, not admitted");
        return reply.code(202).send({ status: "not_admitted", rule: accepted.rule, notificationId: accepted.notificationId, duplicate: accepted.duplicate });
      }
      request.outcome = { kind: accepted.duplicate ? "duplicate" : "accepted", reason: "stored" };
      countIncidentChanges(metrics, accepted.events, accepted.family);
      request.log.info(
        { incidentId: accepted.incidentId, notificationId: accepted.notificationId, duplicate: accepted.duplicate, changes: accepted.events.map((e) => e.type) },
        "notification stored",
      );
      return reply.code(202).send({ status: "accepted", notificationId: accepted.notificationId, duplicate: accepted.duplicate, incidentId: accepted.incidentId });
    },
  );
};
