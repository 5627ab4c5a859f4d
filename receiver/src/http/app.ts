/** The Fastify application: one fresh instance per server (and per test), no global state. */
import swagger from "@fastify/swagger";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { SigningKeys } from "../auth/signing-keys.ts";
import type { TokenVerifier } from "../auth/token-verifier.ts";
import type { ReceiverConfig } from "../config.ts";
import { StoreUnavailableError, type Database } from "../store/database.ts";
import { countDeliveries, type DeliveryTargets } from "../store/outbox.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { problems, sendProblem, type Problem } from "./problems.ts";
import { alertRoutes } from "./routes/alerts.ts";
import { configurationItemRoutes } from "./routes/configuration-items.ts";
import { consoleRoutes } from "./routes/console.ts";
import { deliveryRoutes } from "./routes/deliveries.ts";
import { docsRoutes } from "./routes/docs.ts";
import { healthRoutes } from "./routes/health.ts";
import { incidentRoutes } from "./routes/incidents.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The body exactly as received, kept for the notification log. */
    rawBody?: string;
    /** What became of an alert notification, for the metrics. */
    outcome?: { kind: "accepted" | "duplicate" | "rejected"; reason: string };
  }
}

export interface AppContext {
  config: ReceiverConfig;
  db: Database;
  keys: SigningKeys;
  verifier: TokenVerifier;
  metrics: Metrics;
  deliveryTargets: DeliveryTargets;
}

export interface AppOptions {
  logger?: FastifyServerOptions["logger"];
}

function problemFor(error: FastifyError, bodyLimit: number, contentType: string | undefined, alertsRoute: boolean): Problem {
  if (error instanceof StoreUnavailableError) return problems.unavailable("store_unavailable", "the incident store is unavailable; retry later");
  if (error.validation) {
    return error.validationContext === "body" && alertsRoute ? problems.notCommonAlertSchema(error.message) : problems.invalidRequest(error.message);
  }
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return problems.unsupportedMediaType(contentType);
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return problems.tooLarge(bodyLimit);
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return problems.malformedJson("body is empty");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return problems.malformedJson(error.message);
  }
  if (error instanceof SyntaxError || error.statusCode === 400) return problems.malformedJson(error.message);
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, code: error.code?.toLowerCase() ?? "bad_request", message: error.message };
  }
  return problems.internal();
}

export async function buildApp(context: Omit<AppContext, "metrics" | "deliveryTargets"> & { metrics?: Metrics }, options: AppOptions = {}): Promise<FastifyInstance> {
  const ctx: AppContext = {
    ...context,
    metrics: context.metrics ?? createMetrics(() => countDeliveries(context.db)),
    deliveryTargets: { connectors: context.config.connectors.map((c) => c.kind), maxAgeMs: context.config.outbox.maxAgeMs },
  };
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: ctx.config.bodyLimitBytes,
    // ARM resource ids in paths (/api/cis/{id}) are far longer than Fastify's default of 100.
    routerOptions: { maxParamLength: 2048 },
    // Behind Container Apps' ingress; the socket peer is the proxy.
    trustProxy: true,
  });

  // Prototype-poisoning keys are dropped from the parsed object rather than refused: the alert is
  // still Azure's to deliver, and the raw body keeps them as sent.
  const parseJson = app.getDefaultJsonParser("remove", "remove");
  // JSON only: anything else is 415, including the text/plain Fastify would otherwise accept.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    request.rawBody = String(body);
    parseJson(request, request.rawBody, done);
  });

  app.addHook("onResponse", async (request, reply) => {
    if (request.routeOptions.url === "/api/alerts" && request.outcome) {
      ctx.metrics.notifications.inc({ outcome: request.outcome.kind, reason: request.outcome.reason });
    }
    ctx.metrics.requestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? "unmatched", status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = problemFor(error, ctx.config.bodyLimitBytes, request.headers["content-type"], request.routeOptions.url === "/api/alerts");
    if (problem.status >= 500) {
      if (problem.code === "store_unavailable") ctx.metrics.databaseErrors.inc();
      request.log.error({ err: error }, "request failed");
    } else {
      request.log.info({ status: problem.status, reason: problem.message }, "request rejected");
    }
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) => sendProblem(reply, problems.notFound(`${request.method} ${request.url}`)));

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: "secure-export receiver", version: "1", description: "Azure Monitor secure-webhook alerts into an incident ledger." },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT (Microsoft Entra ID)" } } },
    },
  });
  alertRoutes(app, ctx);
  incidentRoutes(app, ctx);
  configurationItemRoutes(app, ctx);
  deliveryRoutes(app, ctx);
  healthRoutes(app, ctx);
  await consoleRoutes(app, ctx);
  await docsRoutes(app);
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  return app;
}
