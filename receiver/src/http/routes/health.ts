import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.ts";
import { RETRY_AFTER_SECONDS } from "../problems.ts";

export function healthRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get("/healthz", { schema: { hide: true } }, async () => ({ status: "ok" }));

  app.get("/readyz", { schema: { hide: true } }, async (_request, reply) => {
    const database = await ctx.db.query("SELECT 1").then(
      () => "ok",
      () => "unavailable",
    );
    const signingKeys = ctx.keys.loaded ? "ok" : "unavailable";
    const ready = database === "ok" && signingKeys === "ok";
    if (!ready) reply.header("retry-after", String(RETRY_AFTER_SECONDS));
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", database, signingKeys });
  });

  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) =>
    reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
  );
}
