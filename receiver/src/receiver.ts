/** Wires configuration, store, signing keys, HTTP and background jobs into a running receiver. */
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import { SigningKeys } from "./auth/signing-keys.ts";
import { TokenVerifier, jwksUrl } from "./auth/token-verifier.ts";
import type { ReceiverConfig } from "./config.ts";
import { createConnector } from "./connectors/connector.ts";
import { buildApp } from "./http/app.ts";
import { OutboxWorker } from "./jobs/outbox-worker.ts";
import { startQuietPeriodTimer } from "./jobs/quiet-period-timer.ts";
import { acceptNotifications, type AcceptedNotification } from "./ledger/accept-notifications.ts";
import type { DeliveryTargets } from "./ledger/change-set.ts";
import { GroupCommit } from "./ledger/group-commit.ts";
import type { PreparedNotification } from "./ledger/prepare-notification.ts";
import { createMetrics } from "./metrics.ts";
import type { Database } from "./store/database.ts";
import { countDeliveries } from "./store/delivery-queries.ts";
import { openDatabase } from "./store/open-database.ts";

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

export async function startReceiver(config: ReceiverConfig, options: StartOptions = {}): Promise<RunningReceiver> {
  const db = options.db ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const keys = new SigningKeys({
    jwksUrl: jwksUrl(config.auth),
    refreshIntervalMs: config.auth.keysRefreshSeconds * 1000,
    minRefetchIntervalMs: config.auth.keysMinRefetchSeconds * 1000,
  });
  const verifier = new TokenVerifier(config.auth, keys);
  const targets: DeliveryTargets = { connectors: config.connectors.map((c) => c.kind), maxAgeMs: config.outbox.maxAgeMs };
  let intake: GroupCommit<PreparedNotification, AcceptedNotification> | null = null;
  const metrics = createMetrics({ outboxJobs: () => countDeliveries(db), intakeQueued: () => intake?.depth ?? 0 });
  intake = new GroupCommit<PreparedNotification, AcceptedNotification>({
    commit: (batch) => acceptNotifications(db, batch, targets),
    sizeOf: (n) => n.rawPayload.length,
    onBatch: (size, seconds) => {
      metrics.intakeBatchSize.observe(size);
      metrics.intakeBatchSeconds.observe(seconds);
    },
  });
  const app = await buildApp({ config, db, keys, verifier, metrics, intake, targets }, { logger: options.logger ?? false });
  keys.start();
  // The first key fetch runs before we listen so the first alert rarely meets a cold cache;
  // if it fails, the receiver still starts, answers 503, and keeps trying.
  await keys.refresh();
  if (!keys.loaded) app.log.warn({ jwksUrl: jwksUrl(config.auth) }, "signing keys not loaded yet; alerts get 503 until they are");

  const quietPeriods = startQuietPeriodTimer({ db, quietPeriods: config.quietPeriods, targets, metrics, log: app.log });
  const outbox = new OutboxWorker({ db, connectors: config.connectors.map(createConnector), config: config.outbox, log: app.log.child({ component: "outbox" }), metrics });
  outbox.start();

  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const groupCommit = intake;

  return {
    app,
    db,
    keys,
    outbox,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    async close() {
      keys.stop();
      quietPeriods.stop();
      // Fastify waits for busy connections without limit; Container Apps waits 30 s before SIGKILL.
      const deadline = setTimeout(() => app.server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
      // Requests in flight wait for their batch; the queue drains before the store closes.
      await app.close();
      await groupCommit.close();
      clearTimeout(deadline);
      await outbox.stop();
      if (!options.db) await db.close();
    },
  };
}
