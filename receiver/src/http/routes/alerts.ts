import type { FastifyInstance } from "fastify";
import { CommonAlert } from "../../alerts/schema.ts";
import { commonAlertValidator, describeErrors } from "../../alerts/validate.ts";
import { acceptNotification } from "../../intake/accept-notification.ts";
import type { AppContext } from "../app.ts";
import { authenticate } from "../authenticate.ts";

/** POST /api/alerts: the action group's secure webhook. */
export function alertRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post(
    "/api/alerts",
    {
      onRequest: authenticate(ctx.verifier, { role: ctx.config.auth.requiredRole, allowedCallers: ctx.config.auth.allowedCallers }),
      schema: {
        summary: "Receive an Azure Monitor alert (secure webhook, common alert schema)",
        tags: ["alerts"],
        security: [{ bearer: [] }],
        body: CommonAlert,
      },
      preHandler: async (request) => {
        // Every log line about this alert, including Fastify's own, carries its alertId.
        request.log = request.log.child({ alertId: (request.body as CommonAlert).data.essentials.alertId });
      },
      // Our own strict validator (no coercion, no stripping): what is stored is what Azure sent.
      validatorCompiler: () => commonAlertValidator,
      schemaErrorFormatter: (errors) => new Error(describeErrors(errors).message),
    },
    async (request, reply) => {
      const accepted = await acceptNotification(ctx.db, {
        payload: request.body as CommonAlert,
        rawPayload: request.rawBody ?? JSON.stringify(request.body),
        caller: request.principal!,
      }, ctx.deliveryTargets);
      request.outcome = { kind: accepted.duplicate ? "duplicate" : "accepted", reason: "stored" };
      request.log = request.log.child({ incidentId: accepted.incidentId });
      for (const event of accepted.events) {
        if (event.type === "opened" || event.type === "resolved" || event.type === "reopened") {
          ctx.metrics.incidents.inc({ change: event.type, family: accepted.alert.family });
        }
      }
      request.log.info(
        { notificationId: accepted.notificationId, duplicate: accepted.duplicate, changes: accepted.events.map((e) => e.type) },
        "notification stored",
      );
      return reply
        .code(202)
        .send({ status: "accepted", notificationId: accepted.notificationId, duplicate: accepted.duplicate, incidentId: accepted.incidentId });
    },
  );
}
