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
        body: CommonAlert,
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
      });
      request.outcome = { kind: accepted.duplicate ? "duplicate" : "accepted", reason: "stored" };
      request.log.info(
        { alertId: accepted.alert.alertId, notificationId: accepted.notificationId, duplicate: accepted.duplicate },
        "notification stored",
      );
      return reply.code(202).send({ status: "accepted", notificationId: accepted.notificationId, duplicate: accepted.duplicate });
    },
  );
}
