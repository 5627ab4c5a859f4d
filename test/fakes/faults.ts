/**
 * Faults an ITSM fake can be told to show: errors, outages, slowness, rate limits, and responses
 * lost after the request was applied. Installed as hooks on the fake's Fastify app.
 */
import type { FastifyInstance, FastifyReply } from "fastify";

export interface Faults {
  /** The next `count` requests answer `status` (with the tool's own error body). */
  fail(count: number, status?: number): void;
  /** Every request fails until `up()`: 503, or the connection reset without an answer. */
  down(mode?: "503" | "reset"): void;
  up(): void;
  /** Adds latency to every request. */
  delay(ms: number): void;
  /** The next `count` requests (matching `method` and path prefix, if given) are applied, but their connection is cut before the answer. */
  dropNextResponses(count: number, only?: { method: string; pathPrefix: string }): void;
  /** How many answers were cut so far. */
  droppedResponses(): number;
  /** The next `count` requests get 429 with Retry-After. */
  rateLimitNext(count: number, retryAfterSeconds: number): void;
}

export function installFaults(app: FastifyInstance, errorBody: (status: number, message: string) => unknown): Faults {
  let failures: { count: number; status: number } = { count: 0, status: 503 };
  let outage: "503" | "reset" | null = null;
  let latency = 0;
  let drops: { count: number; only?: { method: string; pathPrefix: string } } = { count: 0 };
  let dropped = 0;
  let rateLimit = { count: 0, seconds: 1 };

  const refuse = (reply: FastifyReply, status: number, message: string) => reply.code(status).type("application/json").send(errorBody(status, message));

  app.addHook("onRequest", async (request, reply) => {
    if (latency) await new Promise((resolve) => setTimeout(resolve, latency));
    if (outage === "reset") {
      request.raw.socket.destroy();
      return reply;
    }
    if (outage === "503") return refuse(reply, 503, "Service Unavailable");
    if (rateLimit.count > 0) {
      rateLimit.count -= 1;
      reply.header("retry-after", String(rateLimit.seconds));
      return refuse(reply, 429, "Too Many Requests");
    }
    if (failures.count > 0) {
      failures.count -= 1;
      return refuse(reply, failures.status, `injected failure ${failures.status}`);
    }
  });

  app.addHook("onSend", async (request, _reply, payload) => {
    const wanted = !drops.only || (request.method === drops.only.method && request.url.startsWith(drops.only.pathPrefix));
    if (drops.count > 0 && wanted) {
      drops.count -= 1;
      dropped += 1;
      // Applied, never answered: the client sees a reset connection.
      request.raw.socket.destroy();
    }
    return payload;
  });

  return {
    fail: (count, status = 503) => void (failures = { count, status }),
    down: (mode = "503") => void (outage = mode),
    up: () => void (outage = null),
    delay: (ms) => void (latency = ms),
    dropNextResponses: (count, only) => void (drops = only ? { count, only } : { count }),
    droppedResponses: () => dropped,
    rateLimitNext: (count, seconds) => void (rateLimit = { count, seconds }),
  };
}

export interface RecordedRequest {
  method: string;
  url: string;
  /** Authorization reduced to its scheme: tests see how a client authenticated, never the secret. */
  authScheme: string | null;
  body: unknown;
}

export function recordRequests(app: FastifyInstance): RecordedRequest[] {
  const requests: RecordedRequest[] = [];
  app.addHook("preHandler", async (request) => {
    requests.push({ method: request.method, url: request.url, authScheme: request.headers.authorization?.split(" ")[0] ?? null, body: request.body });
  });
  return requests;
}
