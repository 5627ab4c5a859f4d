/** The Fastify application: one fresh instance per server (and per test), no global state. */
import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type onRequestHookHandler } from "fastify";
import { pino } from "pino";
import { QueueFullError, ShuttingDownError } from "../ledger/group-commit.ts";
import { StoreQueryError, StoreUnavailableError } from "../store/database.ts";
import { addAuthentication } from "./authenticate.ts";
import type { AppDeps } from "./context.ts";
import { lazyChild } from "./lazy-logger.ts";
import { problems, rawProblem, sendProblem, type Problem } from "./problems.ts";
import { alertRoutes } from "./routes/alerts.ts";
import { configurationItemRoutes } from "./routes/configuration-items.ts";
import { connectorEventRoutes } from "./routes/connector-events.ts";
import { consoleRoutes } from "./routes/console.ts";
import { deliveryRoutes } from "./routes/deliveries.ts";
import { docsRoutes } from "./routes/docs.ts";
import { healthRoutes, PROBE_ROUTES } from "./routes/health.ts";
import { incidentRoutes } from "./routes/incidents.ts";
import { routingRoutes } from "./routes/routing.ts";
import { silenceRoutes } from "./routes/silences.ts";
import { statusRoutes } from "./routes/status.ts";
import { validatorCompiler } from "./validation.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The body is an alert: a schema mismatch there is 422 not_common_alert_schema, not 400. */
    alertBody?: boolean;
  }
  interface FastifyRequest {
    /** The body exactly as received, kept for the notification log. */
    rawBody?: string;
    /** What became of an alert notification, for the metrics. */
    outcome?: { kind: "accepted" | "duplicate" | "not_admitted" | "rejected"; reason: string };
  }
}

export interface AppOptions {
  logger?: FastifyBaseLogger;
}

function problemFor(error: FastifyError, bodyLimit: number, contentType: string | undefined, alertBody: boolean): Problem {
  if (error instanceof StoreUnavailableError) return problems.unavailable("store_unavailable", "the incident store is unavailable; retry later");
  if (error instanceof QueueFullError || error instanceof ShuttingDownError) return problems.unavailable("intake_busy", error.message);
  // The server refused a statement for its content: retrying the same request fails the same way.
  if (error instanceof StoreQueryError) return problems.internal();
  if (error.validation) {
    return error.validationContext === "body" && alertBody ? problems.notCommonAlertSchema(error.message) : problems.invalidRequest(error.message);
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
  if (error instanceof SyntaxError) return problems.malformedJson(error.message);
  // Anything else Fastify refuses before our code (a Content-Length the body does not match, …).
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return problems.invalidRequest(error.message);
  return problems.internal();
}

/** More than any body worth answering: beyond it the connection is cut instead (the client then sees a reset). */
const DISCARD_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Reads and drops what is left of a refused body before answering. A client that writes its whole
 * body before it reads (most do) would otherwise meet a closed socket (EPIPE, ECONNRESET) instead
 * of the 413: RFC 9112 §9.6 asks a server that answers early to keep reading ("lingering close").
 */
function discardBody(raw: IncomingMessage): Promise<void> {
  if (raw.readableEnded || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      raw.off("data", count);
      resolve();
    };
    const count = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > DISCARD_MAX_BYTES) done();
    };
    raw.on("data", count).once("end", done).once("close", done).once("error", done);
    raw.resume();
  });
}

/** Errors Node's HTTP parser meets before any route (headers too large, a stalled request), in our shape. */
function clientErrorHandler(requestTimeoutMs: number) {
  return (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === "ECONNRESET" || socket.destroyed) return;
    const problem =
      error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? problems.requestTimeout(requestTimeoutMs / 1000)
        : error.code === "HPE_HEADER_OVERFLOW"
          ? problems.headerTooLarge()
          : problems.invalidRequest(`the request is not valid HTTP (${error.code ?? error.message})`);
    if (socket.writable) socket.write(rawProblem(problem, STATUS_CODES[problem.status] ?? ""));
    socket.destroy(error);
  };
}

/**
 * HttpSettings.yieldToIo: each arrival's work continues in a check phase of its own, one arrival
 * per turn of the event loop, so that I/O ready meanwhile (the database's answers to the batch in
 * flight: the first ones, then the commit's) is read between any two arrivals, not after all of
 * them. A turn with nothing ready costs one poll of the sockets.
 */
function oneArrivalPerTurn(): onRequestHookHandler {
  const waiting: Array<() => void> = [];
  const next = () => {
    const continueRequest = waiting.shift();
    if (waiting.length > 0) setImmediate(next);
    continueRequest?.();
  };
  return (_request, _reply, done) => {
    if (waiting.push(done) === 1) setImmediate(next);
  };
}

export async function buildApp(deps: AppDeps, options: AppOptions = {}): Promise<FastifyInstance> {
  const { http } = deps;
  const app = Fastify({
    loggerInstance: options.logger ?? pino({ level: "silent" }),
    // Our own request lines (below): none for the probes, and with the alertId on an alert's.
    logController: new LogController({ disableRequestLogging: true }),
    // Made when a request first writes a line: most write none below info (http/lazy-logger.ts).
    childLoggerFactory: (logger, bindings, options) => lazyChild(logger, bindings, options),
    bodyLimit: http.bodyLimitBytes,
    // A request must arrive within this, token or not: a stalled upload cannot hold a socket forever.
    requestTimeout: http.requestTimeoutMs,
    // Node checks request timeouts only every 30 s by default, and a stalled request only expires
    // once it is also past headersTimeout (60 s unless set): both follow our timeout.
    http: { headersTimeout: http.requestTimeoutMs, connectionsCheckingInterval: Math.min(30_000, Math.max(250, http.requestTimeoutMs / 4)) },
    // ARM resource ids in paths (/api/cis/{id}) are far longer than Fastify's default of 100.
    routerOptions: { maxParamLength: 2048 },
    // Only the proxies we run behind may name the caller's address (Container Apps' ingress: 1).
    trustProxy: (_address: string, hop: number) => hop < http.trustedProxyHops,
    frameworkErrors: (error, _request, reply) =>
      sendProblem(reply, error.code === "FST_ERR_MAX_PARAM_LENGTH" ? problems.uriTooLong() : problems.invalidRequest(error.message)),
    clientErrorHandler: clientErrorHandler(http.requestTimeoutMs),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // First of all hooks, so that nothing of a request runs before the I/O ready with it (HttpSettings.yieldToIo).
  if (http.yieldToIo) app.addHook("onRequest", oneArrivalPerTurn());
  addAuthentication(app, deps.verifier, deps.access);

  // Prototype-poisoning keys are dropped from the parsed object rather than refused: the alert is
  // still Azure's to deliver, and the raw body keeps them as sent.
  const parseJson = app.getDefaultJsonParser("remove", "remove");
  // JSON only: anything else is 415, including the text/plain Fastify would otherwise accept.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    request.rawBody = String(body);
    parseJson(request, request.rawBody, done);
  });

  // A compressed body would be read as garbage (or, mislabelled, stored as if compressed): refuse
  // it plainly. Runs after authentication (onRequest), before the body is read.
  app.addHook("preParsing", async (request, reply) => {
    const encoding = request.headers["content-encoding"]?.trim().toLowerCase();
    if (encoding && encoding !== "identity") return sendProblem(reply, problems.unsupportedContentEncoding(encoding));
  });

  // No store can hold a NUL character: a filter or id carrying one matches nothing we hold.
  app.addHook("preValidation", async (request, reply) => {
    for (const [where, values] of [["query", request.query], ["path", request.params]] as const) {
      for (const [name, value] of Object.entries((values ?? {}) as Record<string, unknown>)) {
        if (typeof value === "string" && value.includes("\u0000")) return sendProblem(reply, problems.invalidRequest(`${where} parameter ${name} contains a NUL character`));
      }
    }
  });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === "/api/alerts" && request.outcome) {
      deps.metrics.notifications.inc({ outcome: request.outcome.kind, reason: request.outcome.reason });
    }
    deps.metrics.requestDuration.observe({ method: request.method, route: route ?? "unmatched", status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (route && PROBE_ROUTES.has(route)) return;
    request.log.info(
      { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime), ip: request.ip },
      "request completed",
    );
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const problem = problemFor(error, http.bodyLimitBytes, request.headers["content-type"], request.routeOptions.config.alertBody ?? false);
    if (problem.code === "store_unavailable") {
      deps.metrics.databaseErrors.inc();
      request.log.warn({ err: error }, "request failed: the store is unavailable");
    } else if (problem.status >= 500) {
      request.log.error({ err: error }, "request failed");
    } else {
      request.log.info({ status: problem.status, reason: problem.message }, "request rejected");
    }
    if (problem.code === "payload_too_large") {
      await discardBody(request.raw);
      reply.header("connection", "close");
    }
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) => sendProblem(reply, problems.notFound(`${request.method} ${request.url.slice(0, 200)}`)));

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: "secure-export receiver", version: "1", description: "Azure Monitor secure-webhook alerts into an incident ledger." },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT (Microsoft Entra ID)" } } },
    },
  });
  await app.register(alertRoutes, { prefix: "/api/alerts", intake: deps.intake, routing: deps.routing, metrics: deps.metrics, db: deps.db, heartbeat: deps.heartbeat ?? null });
  await app.register(incidentRoutes, { prefix: "/api/incidents", db: deps.db, metrics: deps.metrics, targets: deps.targets });
  await app.register(configurationItemRoutes, { prefix: "/api/cis", db: deps.db });
  await app.register(deliveryRoutes, { prefix: "/api/deliveries", db: deps.db, maxAgeMs: deps.targets.maxAgeMs });
  await app.register(routingRoutes, { prefix: "/api/routing", routing: deps.routing, db: deps.db });
  await app.register(silenceRoutes, { prefix: "/api/silences", db: deps.db });
  await app.register(connectorEventRoutes, { prefix: "/api/connectors", db: deps.db, metrics: deps.metrics, targets: deps.targets, sync: deps.sync });
  await app.register(statusRoutes, { prefix: "/api/status", db: deps.db, store: deps.store, routing: deps.routing, status: deps.status });
  await app.register(healthRoutes, { db: deps.db, store: deps.store, keys: deps.keys });
  await app.register(consoleRoutes, { published: deps.console });
  await docsRoutes(app, deps.console);
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  return app;
}
