import type { FastifyInstance } from "fastify";
import { CommonAlert } from "../../alerts/schema.ts";
import { commonAlertValidator, describeErrors } from "../../alerts/validate.ts";
import { prepareNotification } from "../../ledger/prepare-notification.ts";
import { countIncidentChanges } from "../../metrics.ts";
import { authenticate } from "../authenticate.ts";
import type { AppContext } from "../context.ts";
import { problems, sendProblem } from "../problems.ts";

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
      // Our own strict validator (no coercion, no stripping): what is stored is what Azure sent.
      validatorCompiler: () => commonAlertValidator,
      schemaErrorFormatter: (errors) => new Error(describeErrors(errors).message),
    },
    async (request, reply) => {
      const body = request.body as CommonAlert;
      // Every log line about this alert, the final one included, carries its alertId.
      request.log = request.log.child({ alertId: body.data.essentials.alertId });
      const prepared = prepareNotification(body, request.rawBody ?? JSON.stringify(body), request.principal!);
      if (!prepared.ok) return sendProblem(reply, problems.notCommonAlertSchema(prepared.message));
      const accepted = await ctx.intake.submit(prepared.notification);
      request.outcome = { kind: accepted.duplicate ? "duplicate" : "accepted", reason: "stored" };
      countIncidentChanges(ctx.metrics, accepted.events, accepted.family);
      request.log.info(
        { incidentId: accepted.incidentId, notificationId: accepted.notificationId, duplicate: accepted.duplicate, changes: accepted.events.map((e) => e.type) },
        "notification stored",
      );
      return reply
        .code(202)
        .send({ status: "accepted", notificationId: accepted.notificationId, duplicate: accepted.duplicate, incidentId: accepted.incidentId });
    },
  );
}
