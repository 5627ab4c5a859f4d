/** Probes: alive, and ready to take alerts. Probed every few seconds by every replica's orchestrator: answered, never logged. */
import type { FastifyPluginAsync } from "fastify";
import type { SigningKeys } from "../../auth/signing-keys.ts";
import type { Database } from "../../store/database.ts";
import type { StoreStatus } from "../../store/store-supervisor.ts";
import { RETRY_AFTER_SECONDS } from "../problems.ts";

/** What went wrong underneath: the driver's error a store error wraps, or the error itself. */
function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? error.cause.message : error.message;
}

export const PROBE_ROUTES: ReadonlySet<string> = new Set(["/healthz", "/readyz"]);

export const healthRoutes: FastifyPluginAsync<{ db: Database; store: () => StoreStatus; keys: Pick<SigningKeys, "loaded"> }> = async (app, { db, store, keys }) => {
  app.get("/healthz", { schema: { hide: true } }, async () => ({ status: "ok" }));

  /** Ready to take alerts: the store is open and answers, and the signing keys are loaded. Says what is missing. */
  app.get("/readyz", { schema: { hide: true } }, async (_request, reply) => {
    const status = store();
    const database =
      status.state !== "ready"
        ? `unavailable: ${status.detail ?? `the store is ${status.state}`}`
        : await db.query("SELECT 1").then(
            () => "ok",
            (error: unknown) => `unavailable: ${causeOf(error)}`,
          );
    const signingKeys = keys.loaded ? "ok" : "unavailable: not fetched yet (see the log for why)";
    const ready = database === "ok" && signingKeys === "ok";
    if (!ready) reply.header("retry-after", String(RETRY_AFTER_SECONDS));
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", database, signingKeys });
  });
};
