/** Wires configuration, store, signing keys, HTTP and background jobs into a running receiver. */
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import { SigningKeys } from "./auth/signing-keys.ts";
import { TokenVerifier, jwksUrl } from "./auth/token-verifier.ts";
import type { ReceiverConfig } from "./config.ts";
import { createConnector } from "./connectors/connector.ts";
import { OutboxWorker } from "./connectors/outbox-worker.ts";
import { buildApp } from "./http/app.ts";
import { createMetrics } from "./http/metrics.ts";
import { sweepQuietIncidents } from "./jobs/quiet-period-sweep.ts";
import type { Database } from "./store/database.ts";
import { openDatabase } from "./store/open-database.ts";
import { countDeliveries } from "./store/outbox.ts";

const SWEEP_INTERVAL_MS = 60_000;

export interface RunningReceiver {
  app: FastifyInstance;
  db: Database;
  keys: SigningKeys;
  outbox: OutboxWorker;
  /** Base URL it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: FastifyServerOptions["logger"];
  /** An already open database (tests); otherwise opened from the configuration. */
  db?: Database;
  /** On close, how long requests in flight may finish before their connections are cut. */
  shutdownGraceMs?: number;
}

function startQuietPeriodSweeps(app: FastifyInstance, db: Database, config: ReceiverConfig, metrics: ReturnType<typeof createMetrics>): NodeJS.Timeout | null {
  if (Object.keys(config.quietPeriods).length === 0) return null;
  const targets = { connectors: config.connectors.map((c) => c.kind), maxAgeMs: config.outbox.maxAgeMs };
  const timer = setInterval(() => {
    sweepQuietIncidents(db, config.quietPeriods, targets).then(
      (resolved) => {
        for (const incident of resolved) {
          metrics.incidents.inc({ change: "resolved", family: incident.family });
          app.log.info({ alertId: incident.alertId, incidentId: incident.id }, "incident resolved after its quiet period");
        }
      },
      (error: unknown) => app.log.warn({ err: error }, "quiet-period sweep failed; retrying next interval"),
    );
  }, SWEEP_INTERVAL_MS);
  timer.unref();
  return timer;
}

export async function startReceiver(config: ReceiverConfig, options: StartOptions = {}): Promise<RunningReceiver> {
  const db = options.db ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, databaseAuth: config.databaseAuth, maxConnections: config.databasePoolMax }));
  const keys = new SigningKeys({
    jwksUrl: jwksUrl(config.auth),
    refreshIntervalMs: config.auth.keysRefreshSeconds * 1000,
    minRefetchIntervalMs: config.auth.keysMinRefetchSeconds * 1000,
  });
  const verifier = new TokenVerifier(config.auth, keys);
  const metrics = createMetrics(() => countDeliveries(db));
  const app = await buildApp({ config, db, keys, verifier, metrics }, { logger: options.logger ?? false });
  keys.start();
  // The first key fetch runs before we listen so the first alert rarely meets a cold cache;
  // if it fails, the receiver still starts, answers 503, and keeps trying.
  await keys.refresh();
  if (!keys.loaded) app.log.warn({ jwksUrl: jwksUrl(config.auth) }, "signing keys not loaded yet; alerts get 503 until they are");

  const sweeper = startQuietPeriodSweeps(app, db, config, metrics);
  const outbox = new OutboxWorker({ db, connectors: config.connectors.map(createConnector), config: config.outbox, log: app.log.child({ component: "outbox" }), metrics });
  outbox.start();

  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;

  return {
    app,
    db,
    keys,
    outbox,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    async close() {
      keys.stop();
      if (sweeper) clearInterval(sweeper);
      // Fastify waits for busy connections without limit; Container Apps waits 30 s before SIGKILL.
      const deadline = setTimeout(() => app.server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
      await app.close();
      clearTimeout(deadline);
      await outbox.stop();
      if (!options.db) await db.close();
    },
  };
}
