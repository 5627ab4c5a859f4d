/** Wires configuration, store, signing keys and HTTP into a running receiver. */
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import { SigningKeys } from "./auth/signing-keys.ts";
import { TokenVerifier, jwksUrl } from "./auth/token-verifier.ts";
import type { ReceiverConfig } from "./config.ts";
import { buildApp } from "./http/app.ts";
import { createMetrics } from "./http/metrics.ts";
import type { Database } from "./store/database.ts";
import { openDatabase } from "./store/open-database.ts";
import { sweepQuietIncidents } from "./jobs/quiet-period-sweep.ts";

const SWEEP_INTERVAL_MS = 60_000;

export interface RunningReceiver {
  app: FastifyInstance;
  db: Database;
  keys: SigningKeys;
  /** Base URL it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: FastifyServerOptions["logger"];
  /** An already open database (tests); otherwise opened from the configuration. */
  db?: Database;
}

export async function startReceiver(config: ReceiverConfig, options: StartOptions = {}): Promise<RunningReceiver> {
  const db = options.db ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const keys = new SigningKeys({
    jwksUrl: jwksUrl(config.auth),
    refreshIntervalMs: config.auth.keysRefreshSeconds * 1000,
    minRefetchIntervalMs: config.auth.keysMinRefetchSeconds * 1000,
  });
  const verifier = new TokenVerifier(config.auth, keys);
  const metrics = createMetrics();
  const app = await buildApp({ config, db, keys, verifier, metrics }, { logger: options.logger ?? false });
  keys.start();
  // The first key fetch runs before we listen so the first alert rarely meets a cold cache;
  // if it fails, the receiver still starts, answers 503, and keeps trying.
  await keys.refresh();
  if (!keys.loaded) app.log.warn({ jwksUrl: jwksUrl(config.auth) }, "signing keys not loaded yet; alerts get 503 until they are");

  let sweeper: NodeJS.Timeout | null = null;
  if (Object.keys(config.quietPeriods).length > 0) {
    sweeper = setInterval(() => {
      sweepQuietIncidents(db, config.quietPeriods).then(
        (resolved) => {
          for (const incident of resolved) {
            metrics.incidents.inc({ change: "resolved", family: incident.family });
            app.log.info({ alertId: incident.alertId, incidentId: incident.id }, "incident resolved after its quiet period");
          }
        },
        (error: unknown) => app.log.warn({ err: error }, "quiet-period sweep failed; retrying next interval"),
      );
    }, SWEEP_INTERVAL_MS);
    sweeper.unref();
  }

  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;

  return {
    app,
    db,
    keys,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    async close() {
      keys.stop();
      if (sweeper) clearInterval(sweeper);
      await app.close();
      if (!options.db) await db.close();
    },
  };
}
