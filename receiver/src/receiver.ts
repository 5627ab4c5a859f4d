/** Wires configuration, store, signing keys, HTTP and background jobs into a running receiver. */
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { pino, type LoggerOptions } from "pino";
import { SigningKeys } from "./auth/signing-keys.ts";
import { TokenVerifier, jwksUrl } from "./auth/token-verifier.ts";
import { AzureAlertTarget } from "./azure/alerts.ts";
import { armClient } from "./azure/arm.ts";
import { logAnalyticsClient } from "./azure/log-analytics.ts";
import { managedIdentityToken } from "./azure/managed-identity.ts";
import type { ReceiverConfig } from "./config.ts";
import { credentialExpiry, watchedCredentials } from "./connectors/credential-expiry.ts";
import { createConnector } from "./connectors/kinds.ts";
import { ticketSyncOf } from "./connectors/tickets.ts";
import { buildApp } from "./http/app.ts";
import { heartbeatForStatus, type ConnectorCheckSeen } from "./http/status-report.ts";
import { consoleConfig } from "./http/routes/console.ts";
import { startMetricsServer } from "./http/metrics-server.ts";
import { startEvidenceJob } from "./jobs/evidence.ts";
import { OutboxWorker } from "./jobs/outbox-worker.ts";
import type { Job } from "./jobs/every.ts";
import { CREDENTIAL_EXPIRY_LEASE, startCredentialExpiryCheck } from "./jobs/credential-expiry.ts";
import { startItsmPolls, type PolledConnector } from "./jobs/itsm-poll.ts";
import { RECONCILE_LEASE, startReconciliation } from "./jobs/reconcile.ts";
import { HEARTBEAT_LEASE, startHeartbeat } from "./jobs/heartbeat.ts";
import { startNoiseTimer } from "./jobs/noise-timer.ts";
import { startQuietPeriodTimer } from "./jobs/quiet-period-timer.ts";
import { startRetentionTimer } from "./jobs/retention-timer.ts";
import { startEmbeddedUpkeep } from "./jobs/embedded-upkeep.ts";
import { acceptNotifications, type AcceptedNotification } from "./ledger/accept-notifications.ts";
import type { DeliveryTargets } from "./ledger/change-set.ts";
import { GroupCommit } from "./ledger/group-commit.ts";
import type { PreparedNotification } from "./ledger/prepare-notification.ts";
import { createMetrics } from "./metrics.ts";
import { formatProblem } from "./routing/problems.ts";
import type { Database } from "./store/database.ts";
import { lockDataDir } from "./store/data-dir-lock.ts";
import { renameConnector } from "./store/connector-names.ts";
import { releaseLease } from "./store/leases.ts";
import { heartbeatStatus } from "./store/heartbeats.ts";
import { countDeliveries } from "./store/delivery-queries.ts";
import { openDatabase } from "./store/open-database.ts";
import { superviseStore, type StoreStatus, type SupervisedStore } from "./store/store-supervisor.ts";
import { describeFetchFailure } from "./network-errors.ts";

/**
 * On the embedded store each statement of the upkeep and the retention purge waits for this long
 * without an arrival: a lull, not the gap between two alerts of a storm (jobs/lulls.ts).
 */
const LULL_MS = 1000;
/** On the embedded store the outbox waits for this much quiet on the intake before each attempt … */
const OUTBOX_YIELD_QUIET_MS = 20;
/** … but never longer than this. */
const OUTBOX_YIELD_MAX_MS = 1000;

export interface RunningReceiver {
  app: FastifyInstance;
  db: Database;
  keys: SigningKeys;
  outbox: OutboxWorker;
  /** Base URL it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Base URL of the metrics listener. */
  metricsUrl: string;
  /** Resolves once the store is open (at once with a store handed in). */
  storeReady: Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** pino options, or a logger (false or unset: silent). */
  logger?: LoggerOptions | FastifyBaseLogger | false;
  /** An already open database (tests); otherwise opened from the configuration. */
  db?: Database;
  /** On close, how long requests in flight may finish before their connections are cut. */
  shutdownGraceMs?: number;
  /**
   * Stop retrying to open the store after this long once an attempt failed: `storeReady` rejects
   * with a StoreOpenError. For the local stack, where a failing DATABASE_URL is a mistake to report;
   * unset (production), the receiver answers 503 and retries until the database is back.
   */
  storeGiveUpMs?: number;
  /** Before the first heartbeat (default: the interval, at most 30 s); tests start it at once. */
  heartbeatFirstAfterMs?: number;
}

function loggerFrom(option: StartOptions["logger"]): FastifyBaseLogger {
  if (!option) return pino({ level: "silent" });
  if (typeof (option as FastifyBaseLogger).child === "function") return option as FastifyBaseLogger;
  // Our errors already say their cause in their message (StoreUnavailableError, DeliveryError…):
  // pino's default would append it again ("… ECONNREFUSED: … ECONNREFUSED"); keep it as a field.
  return pino({ serializers: { err: pino.stdSerializers.errWithCause }, ...(option as LoggerOptions) });
}

function baseUrl(host: string, port: number): string {
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}`;
}

/** The store in words, for the one line that says it cannot be opened; never the password. */
function storeTarget(config: ReceiverConfig): string {
  if (!config.databaseUrl) return `the embedded store in ${join(config.dataDir, "pglite")}`;
  const url = new URL(config.databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || "(the user's)";
  return `PostgreSQL at ${url.host}, database ${database}${url.username ? `, user ${decodeURIComponent(url.username)}` : ""}`;
}

function openStore(config: ReceiverConfig, log: FastifyBaseLogger, giveUpAfterMs: number | undefined): SupervisedStore {
  return superviseStore({
    ...(giveUpAfterMs === undefined ? {} : { giveUpAfterMs }),
    describeTarget: storeTarget(config),
    open: () =>
      openDatabase({
        databaseUrl: config.databaseUrl,
        databaseAuth: config.databaseAuth,
        maxConnections: config.databasePoolMax,
        dataDir: config.dataDir,
        dataDirLocked: true,
        onProgress: (step) => log.info(`store: ${step}`),
        onIdleError: (error) => log.warn({ err: error }, "store: an idle database connection failed; the next query reconnects"),
      }),
    // One line per attempt, without a stack: the cause is a connection or sign-in problem, not our code's.
    onRetry: (error, delayMs) =>
      log.warn({ retryInSeconds: delayMs / 1000 }, `store: cannot open ${storeTarget(config)} yet (${describeFetchFailure(error)}); alerts get 503 until it can`),
    onReady: () => log.info("store: ready"),
  });
}

export async function startReceiver(config: ReceiverConfig, options: StartOptions = {}): Promise<RunningReceiver> {
  const log = loggerFrom(options.logger);
  // Taken before anything listens: a second process on the same data directory stops here, saying who holds it.
  const unlock = options.db || config.databaseUrl ? null : await lockDataDir(config.dataDir);
  // What has been started so far, stopped in reverse if a later step fails (a port in use): a
  // failed start leaves no lock, no listener and no open store behind.
  const undo: Array<() => Promise<void> | void> = [];
  const undoAll = async () => {
    for (const step of undo.reverse()) await Promise.resolve(step()).catch(() => undefined);
  };
  if (unlock) undo.push(unlock);
  try {
    return await start(config, options, log, undo, unlock);
  } catch (error) {
    await undoAll();
    throw error;
  }
}

async function start(
  config: ReceiverConfig,
  options: StartOptions,
  log: FastifyBaseLogger,
  undo: Array<() => Promise<void> | void>,
  unlock: (() => Promise<void>) | null,
): Promise<RunningReceiver> {
  // The embedded engine runs in this process's one thread and has no autovacuum of its own.
  const embedded = !config.databaseUrl;
  const store: SupervisedStore = options.db
    ? { db: options.db, status: (): StoreStatus => ({ state: "ready", detail: null }), ready: Promise.resolve() }
    : openStore(config, log, options.storeGiveUpMs);
  const db = store.db;
  if (!options.db) undo.push(() => db.close());
  const keys = new SigningKeys({
    jwksUrl: jwksUrl(config.auth),
    refreshIntervalMs: config.auth.keysRefreshSeconds * 1000,
    minRefetchIntervalMs: config.auth.keysMinRefetchSeconds * 1000,
    onRefreshError: (error) => log.warn({ jwksUrl: jwksUrl(config.auth) }, `signing keys could not be loaded: ${error.message}`),
  });
  undo.push(() => keys.stop());
  const verifier = new TokenVerifier(config.auth, keys);
  const named = config.routing.connectors;
  const targets: DeliveryTargets = { connectors: named.map((c) => c.name), maxAgeMs: config.outbox.maxAgeMs, alertSync: config.azure.alertSync };
  // Azure Resource Manager as the receiver's managed identity: the alert write-back and reconciliation.
  const arm = armClient({
    endpoint: config.azure.resourceManager,
    token: managedIdentityToken({ resource: config.azure.resourceManager, purpose: "Azure Resource Manager token", code: "ARM_TOKEN_UNAVAILABLE", env: config.azure.identityEnv, ...(config.azure.clientId ? { clientId: config.azure.clientId } : {}) }),
  });
  const connectors = named.map((c) => createConnector(c.name, c.config));
  const sync = new Map(
    named.map((c, i) => [c.name, { name: c.name, syncClients: c.config.syncClients, tickets: ticketSyncOf(connectors[i]!) }] as const),
  );
  // Leases name their holder: this process, on this host.
  const holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let queued = () => 0;
  const credentials = { watched: watchedCredentials(named), warnDays: config.credentialWarnDays };
  const checks = new Map<string, ConnectorCheckSeen>();
  const metrics = createMetrics({
    outboxJobs: () => countDeliveries(db),
    intakeQueued: () => queued(),
    credentialDaysLeft: () => credentials.watched.flatMap((c) => {
      const { daysLeft } = credentialExpiry(c, credentials.warnDays, new Date());
      return daysLeft === null ? [] : [{ connector: c.connector, credential: c.credential, daysLeft }];
    }),
    ...(config.heartbeat ? { heartbeat: () => heartbeatStatus(db) } : {}),
  });
  const intake = new GroupCommit<PreparedNotification, AcceptedNotification>({
    commit: (batch) => acceptNotifications(db, batch, targets),
    sizeOf: (n) => n.rawPayload.length,
    onBatch: (size, seconds) => {
      metrics.intakeBatchSize.observe(size);
      metrics.intakeBatchSeconds.observe(seconds);
    },
  });
  queued = () => intake.depth;
  const lull = (maxWaitMs: number) => intake.quiet(LULL_MS, maxWaitMs);
  const { auth } = config;
  const app = await buildApp(
    {
      http: { bodyLimitBytes: config.bodyLimitBytes, requestTimeoutMs: config.requestTimeoutMs, trustedProxyHops: config.trustedProxyHops, yieldToIo: !embedded },
      db,
      store: store.status,
      keys,
      verifier,
      access: {
        webhook: { role: auth.requiredRole, allowedCallers: auth.allowedCallers },
        reader: { role: auth.readerRole },
        operator: { role: auth.operatorRole },
        // Only the client applications some connector lists in syncClients, with their own (app-only) tokens.
        sync: { role: auth.syncRole, allowedCallers: [...new Set(named.flatMap((c) => c.config.syncClients))], appOnly: true },
      },
      metrics,
      intake,
      targets,
      routing: config.routing,
      console: consoleConfig(auth),
      sync,
      status: {
        storeKind: embedded ? "embedded" : "postgresql",
        credentials,
        checks,
        heartbeat: config.heartbeat ? async () => heartbeatForStatus(await heartbeatStatus(db)) : null,
      },
      heartbeat: config.heartbeat ? { actionGroupId: config.heartbeat.actionGroupId, intervalMs: config.heartbeat.intervalMs } : null,
    },
    { logger: log },
  );
  undo.push(() => app.close());
  keys.start();
  // The first key fetch runs before we listen so the first alert rarely meets a cold cache;
  // if it fails, the receiver still starts, answers 503, and keeps trying.
  log.info({ jwksUrl: jwksUrl(config.auth) }, "signing keys: fetching");
  await keys.refresh();
  if (!keys.loaded) log.warn({ jwksUrl: jwksUrl(config.auth), cause: keys.lastFailure }, "signing keys not loaded yet; alerts get 503 until they are");

  // One line per ITSM tool: reachable, and do the credentials work? (Never delivers anything.) A
  // refusal is the connector's state in the status until a delivery succeeds after it.
  for (const connector of connectors) {
    void connector.check().then((result) => {
      checks.set(connector.name, { at: new Date().toISOString(), ...(result.refused ? { refused: result.refused } : {}) });
      if (result.ok) log.info({ connector: connector.name }, `connector ${connector.name}: ${result.detail}`);
      else log.warn({ connector: connector.name }, `connector ${connector.name}: ${result.detail}`);
    });
  }
  const { heartbeat } = config;
  log.info(
    heartbeat
      ? `heartbeat: every ${Math.round(heartbeat.intervalMs / 1000)} s through action group ${heartbeat.actionGroupId} to ${heartbeat.publicUrl}/api/alerts`
      : "heartbeat: off (it needs HEARTBEAT_ACTION_GROUP_ID, and HEARTBEAT_INTERVAL not 0)",
  );
  const alertTarget = config.azure.alertSync ? new AzureAlertTarget(arm) : null;
  if (alertTarget) {
    void alertTarget.check().then((result) =>
      result.ok ? log.info(`Azure alert write-back: ${result.detail}`) : log.warn(`Azure alert write-back (AZURE_ALERT_SYNC=off turns it off): ${result.detail}`),
    );
  }
  const outbox = new OutboxWorker({
    db,
    connectors: alertTarget ? [...connectors, alertTarget] : connectors,
    config: config.outbox,
    log: log.child({ component: "outbox" }),
    metrics,
    evidenceWaitMs: config.azure.logEvidence.waitMs,
    // The embedded store runs in this thread: under a storm the intake goes first, and the outbox
    // still makes an attempt per loop at least every second (docs/performance.md#the-outbox-under-a-backlog).
    ...(embedded ? { yieldTo: () => intake.quiet(OUTBOX_YIELD_QUIET_MS, OUTBOX_YIELD_MAX_MS) } : {}),
  });
  // Rules that work, but probably not as meant (a hold shorter than Azure needs to resolve): said once at start-up.
  for (const warning of config.routing.warnings) log.warn({ code: warning.code }, `routing rules: ${formatProblem(warning)}`);
  undo.push(() => outbox.stop());
  const polled: PolledConnector[] = named.flatMap((c, i) => {
    const tickets = ticketSyncOf(connectors[i]!);
    return tickets && c.config.pollEvery ? [{ name: c.name, tickets, pollEveryMs: c.config.pollEvery }] : [];
  });
  let syncJobs: Job[] = [];
  // The background jobs start once the store is open: before that every run would only fail
  // (a fresh embedded store takes a while), and say so in the log on the happy path.
  const jobs: Array<{ stop(): void | Promise<void> }> = [];
  let closed = false;
  // The noise timer's, the upkeep's and the retention purge's stops wait for a run in flight (jobs/every.ts): nothing they do is cut off.
  const stopJobs = async () => {
    closed = true;
    await Promise.all(jobs.map((job) => job.stop()));
  };
  undo.push(stopJobs);
  undo.push(async () => {
    await Promise.all(syncJobs.map((job) => job.stop()));
  });
  store.ready.then(
    async () => {
      if (closed) return;
      jobs.push(
        startQuietPeriodTimer({ db, quietPeriods: config.quietPeriods, targets, metrics, log }),
        startRetentionTimer({ db, days: config.retentionDays, log, ...(embedded ? { waitForQuiet: lull } : {}) }),
        startNoiseTimer({ db, targets, log, intervalMs: config.noiseTimerMs }),
        // A PostgreSQL server vacuums itself.
        ...(embedded ? [startEmbeddedUpkeep({ db, log, waitForQuiet: lull })] : []),
      );
      const evidence = config.azure.logEvidence;
      if (evidence.enabled) {
        const client = logAnalyticsClient({
          endpoint: evidence.endpoint,
          token: managedIdentityToken({ resource: evidence.resource, purpose: "Log Analytics token", code: "LOG_ANALYTICS_TOKEN_UNAVAILABLE", env: config.azure.identityEnv, ...(config.azure.clientId ? { clientId: config.azure.clientId } : {}) }),
        });
        jobs.push(startEvidenceJob({ db, client, targets, metrics, log: log.child({ component: "evidence" }) }));
        log.info(`log evidence: log alerts' rows are fetched from ${evidence.endpoint} only; tickets wait up to ${evidence.waitMs / 1000} s for them (LOG_EVIDENCE=off turns it off)`);
      }
      // Deliveries queued when connectors were called by their kind go to the instance that kind became.
      for (const c of named) {
        if (c.origin !== "environment" || c.name === c.config.kind || named.some((other) => other.name === c.config.kind)) continue;
        const moved = await renameConnector(db, c.config.kind, c.name);
        if (moved > 0) log.info({ connector: c.name }, `connector: ${moved} deliveries queued for "${c.config.kind}" now go to "${c.name}"`);
      }
      if (closed) return;
      outbox.start();
      syncJobs = [
        ...startItsmPolls({ db, connectors: polled, targets, metrics, log: log.child({ component: "itsm-poll" }), holder }),
        ...[startReconciliation({ db, arm, targets, metrics, log, intervalMs: config.azure.reconcileIntervalMs, holder })].filter((j): j is Job => j !== null),
        startCredentialExpiryCheck({ db, intake, routing: config.routing, credentials: credentials.watched, warnDays: credentials.warnDays, log, holder }),
        ...(heartbeat ? [startHeartbeat({ db, arm, intake, routing: config.routing, config: heartbeat, metrics, log, holder, ...(options.heartbeatFirstAfterMs === undefined ? {} : { firstAfterMs: options.heartbeatFirstAfterMs }) })] : []),
      ];
    },
    () => undefined,
  );

  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const metricsServer = await startMetricsServer(metrics, { host: config.host, port: config.metricsPort });
  undo.push(() => metricsServer.close());

  return {
    app,
    db,
    keys,
    outbox,
    url: baseUrl(config.host, port),
    metricsUrl: baseUrl(config.host, metricsServer.port),
    storeReady: store.ready,
    async close() {
      keys.stop();
      await stopJobs();
      // Fastify waits for busy connections without limit; Container Apps waits 30 s before SIGKILL.
      const deadline = setTimeout(() => app.server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
      // Requests in flight wait for their batch; the queue drains before the store closes.
      await app.close();
      await intake.close();
      clearTimeout(deadline);
      await metricsServer.close();
      await outbox.stop();
      await Promise.all(syncJobs.map((job) => job.stop()));
      // Another replica need not wait for these to expire.
      await Promise.all([RECONCILE_LEASE, CREDENTIAL_EXPIRY_LEASE, HEARTBEAT_LEASE, ...polled.map((p) => `poll:${p.name}`)].map((name) => releaseLease(db, name, holder).catch(() => undefined)));
      if (!options.db) await db.close();
      await unlock?.();
    },
  };
}
