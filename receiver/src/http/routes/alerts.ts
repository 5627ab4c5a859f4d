/** POST /api/alerts: the action group's secure webhook, and the heartbeat's (`?heartbeat=<nonce>`). */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { HEARTBEAT_PARAMETER, isNonceShaped, type Arrival } from "../../alerts/heartbeat.ts";
import { CommonAlert } from "../../alerts/schema.ts";
import { describeErrors } from "../../alerts/validate.ts";
import { resolveHeartbeatMissing } from "../../ledger/heartbeat.ts";
import { prepareNotification } from "../../ledger/prepare-notification.ts";
import { countIncidentChanges, type Metrics } from "../../metrics.ts";
import { explain } from "../../routing/explain.ts";
import { rulesInEffect, type RoutingRules } from "../../routing/load-rules.ts";
import type { Database } from "../../store/database.ts";
import { claimHeartbeat } from "../../store/heartbeats.ts";
import { principalOf } from "../authenticate.ts";
import type { Intake } from "../context.ts";
import { AlertAccepted } from "../ledger-schemas.ts";
import { problems, sendProblem } from "../problems.ts";
import { responses } from "../route-responses.ts";

export const alertRoutes: FastifyPluginAsyncTypebox<{
  intake: Intake;
  routing: RoutingRules;
  metrics: Metrics;
  db: Database;
  heartbeat: { actionGroupId: string; intervalMs: number } | null;
}> = async (app, { intake, routing, metrics, db, heartbeat }) => {
  app.post(
    "",
    {
      config: { access: "webhook", alertBody: true },
      schema: {
        summary: "Receive an Azure Monitor alert (secure webhook, common alert schema)",
        tags: ["alerts"],
        security: [{ bearer: [] }],
        body: CommonAlert,
        querystring: Type.Object({
          [HEARTBEAT_PARAMETER]: Type.Optional(Type.String({ maxLength: 200, description: "The heartbeat's one-time nonce: the request is Azure's test notification, recorded, never an alert" })),
        }),
        response: responses({ 202: AlertAccepted }, [
          "malformed_json", "invalid_request", "payload_too_large", "unsupported_media_type", "unsupported_content_encoding",
          "not_common_alert_schema", "store_unavailable", "intake_busy",
        ]),
      },
      schemaErrorFormatter: (errors) => new Error(describeErrors(errors).message),
    },
    async (request, reply) => {
      const body = request.body;
      const nonce = request.query[HEARTBEAT_PARAMETER];
      if (nonce !== undefined) {
        // Azure's sample payload, not an alert: never routed, never admitted or refused, never an
        // incident. A nonce we did not send (or spent, or too late) is ignored the same way, so a
        // replayed test cannot open a ticket for the sample's fictional rule.
        const shape = `${body.schemaId}/${body.data.essentials.monitoringService ?? "?"}`;
        const arrival: Arrival = isNonceShaped(nonce) ? await claimHeartbeat(db, nonce, shape, new Date()) : "unknown";
        let resolved = false;
        if (arrival === "received" && heartbeat) {
          // The heartbeat is recorded whatever happens here; a "Resolved" that cannot be sent now is the job's next run's.
          resolved = await resolveHeartbeatMissing({ db, intake, routing, ...heartbeat }).catch((error: unknown) => {
            request.log.warn({ err: error }, `heartbeat: the "heartbeat missing" alert cannot be resolved now; the next heartbeat run will`);
            return false;
          });
        }
        metrics.heartbeats.inc({ outcome: arrival });
        if (arrival === "received") request.log.info({ shape, resolved }, `heartbeat received${resolved ? `; the "heartbeat missing" alert is resolved` : ""}`);
        else request.log.warn({ arrival, shape }, `heartbeat ignored: its nonce is ${arrival === "unknown" ? "not one this receiver sent" : arrival === "used" ? "already counted" : "expired"}`);
        return reply.code(202).send({ status: "heartbeat", arrival });
      }
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
