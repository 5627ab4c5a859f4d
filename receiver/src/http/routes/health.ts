import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.ts";
import { RETRY_AFTER_SECONDS } from "../problems.ts";

/** Probed every few seconds by every replica's orchestrator: answered, never logged. */
export const PROBE_ROUTES: ReadonlySet<string> = new Set(["/healthz", "/readyz"]);

export function healthRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get("/healthz", { schema: { hide: true } }, async () => ({ status: "ok" }));

  /** Ready to take alerts: the store is open and answers, and the signing keys are loaded. Says what is missing. */
  app.get("/readyz", { schema: { hide: true } }, async (_request, reply) => {
    const store = ctx.store();
    const database =
      store.state !== "ready"
        ? `unavailable: ${store.detail ?? `the store is ${store.state}`}`
        : await ctx.db.query("SELECT 1").then(
            () => "ok",
            (error: unknown) => `unavailable: ${((error as Error).cause as Error | undefined)?.message ?? (error as Error).message}`,
          );
    const signingKeys = ctx.keys.loaded ? "ok" : "unavailable: not fetched yet (see the log for why)";
    const ready = database === "ok" && signingKeys === "ok";
    if (!ready) reply.header("retry-after", String(RETRY_AFTER_SECONDS));
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", database, signingKeys });
  });
}
