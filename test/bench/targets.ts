/**
 * The systems the bench loads, each started as its own process and waited on until it is ready:
 * - the ceiling: a bare Fastify route that only parses the body (ceiling-server.ts);
 * - the receiver exactly as the container image runs it (`node receiver/src/serve.ts`), configured
 *   only through its documented environment (docs/configuration.md), on the
 *   embedded store in a temporary DATA_DIR or on a fresh PostgreSQL database;
 * - Prometheus Alertmanager (the Debian package's binary) on loopback, in memory, for a peer that
 *   takes alerts over HTTP without authentication or a durable commit.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import pg from "pg";
import { LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_TENANT_ID } from "../../receiver/local/local-identity.ts";
import type { LocalIssuer } from "../../receiver/local/local-issuer.ts";
import { REPO_ROOT } from "../support/paths.ts";
import { alertmanagerAlerts, uniqueAlerts, type Bodies } from "./payloads.ts";
import type { Supervisor } from "./supervisor.ts";

export type Store = "pglite" | "postgres";

export interface Target {
  /** Key in the JSON report: ceiling, alertmanager, pglite_floor, postgres_floor, pglite, postgres, pglite_full, postgres_full, … */
  key: string;
  label: string;
  kind: "ceiling" | "alertmanager" | "floor" | "receiver";
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** One stream per target for its whole life, so no alertId is ever sent to it twice. */
  bodies: Bodies;
  pid: number;
  /** PostgreSQL's CPU is measured (and charged per alert) during this target's windows. */
  usesPostgres: boolean;
  /** The receiver's own PostgreSQL database, for its table statistics. */
  databaseUrl?: string;
}

export interface StartContext {
  supervisor: Supervisor;
  readyTimeoutMs: number;
  issuer: LocalIssuer;
}

/**
 * A free port on loopback for a child to bind. Not one the kernel hands out itself (port 0): the
 * ephemeral range (Linux: 32768-60999) is also where every outgoing connection takes its local
 * port, so under load (a parallel test run opening PostgreSQL connections) such a port can be
 * taken between our check and the child's bind. Below that range only listeners live.
 */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await portIsFree(port)) return port;
  }
  throw new Error("no free port on 127.0.0.1 between 20000 and 32000 after 50 tries");
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function tempDir(supervisor: Supervisor, name: string): Promise<string> {
  return supervisor.tempDir(await mkdtemp(join(tmpdir(), `secure-export-bench-${name}-`)));
}

export async function startCeiling(context: StartContext): Promise<Target> {
  const port = await freePort();
  const child = context.supervisor.spawn("ceiling", process.execPath, ["test/bench/ceiling-server.ts"], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: String(port) },
  });
  const origin = `http://127.0.0.1:${port}`;
  await context.supervisor.waitReady(child, `${origin}/readyz`, context.readyTimeoutMs);
  return { key: "ceiling", label: "ceiling (bare Fastify)", kind: "ceiling", origin, path: "/api/alerts", headers: {}, bodies: uniqueAlerts("ceiling"), pid: child.pid, usesPostgres: false };
}

/** What the receiver reads from the environment; the bench sets these itself. */
const RECEIVER_OWN_VARIABLES = ["PORT", "METRICS_PORT", "HOST", "DATABASE_URL", "DATA_DIR", "LOG_LEVEL"];

/** The bench's own environment (so tuning variables such as a pool size reach a child) without anything that would point a child elsewhere. */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!RECEIVER_OWN_VARIABLES.includes(name) && !name.startsWith("ENTRA_")) env[name] = value;
  }
  return env;
}

/** Where a child keeps its store: the PostgreSQL database given, or a data directory of its own (removed at shutdown). */
async function storeEnv(context: StartContext, key: string, store: Store, databaseUrl: string | undefined): Promise<Record<string, string>> {
  return store === "postgres" ? { DATABASE_URL: databaseUrl! } : { DATA_DIR: await tempDir(context.supervisor, key) };
}

/** The receiver's environment: the inherited one, plus the listen address, the store and the local issuer as its Entra authority. */
function receiverEnv(issuer: LocalIssuer, port: number, store: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...inheritedEnv(),
    PORT: String(port),
    // Several receivers run side by side: each its own metrics port.
    METRICS_PORT: "0",
    HOST: "127.0.0.1",
    // Below info, so the per-request log line is not written (a deployment may keep info).
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
    ENTRA_TENANT_ID: LOCAL_TENANT_ID,
    ENTRA_AUDIENCES: `${LOCAL_APP_ID_URI},${LOCAL_APP_CLIENT_ID}`,
    ENTRA_AUTHORITY: issuer.url,
    // No Azure here: the write-back's start-up check would ask the instance metadata service (off loopback) for a token.
    AZURE_ALERT_SYNC: "off",
    ...store,
  };
}

export async function startReceiver(context: StartContext, key: string, store: Store, databaseUrl?: string, extraEnv: Record<string, string> = {}): Promise<Target> {
  const port = await freePort();
  const label = `receiver ${key}`;
  const child = context.supervisor.spawn(label, process.execPath, ["receiver/src/serve.ts"], {
    cwd: REPO_ROOT,
    env: { ...receiverEnv(context.issuer, port, await storeEnv(context, key, store, databaseUrl)), ...extraEnv },
  });
  const origin = `http://127.0.0.1:${port}`;
  await context.supervisor.waitReady(child, `${origin}/readyz`, context.readyTimeoutMs);
  // A v1 app-only token as Azure Monitor's AzNS service principal gets it; Azure reuses a token for
  // its lifetime, so one per target. Long enough for a --scale preload.
  const token = await context.issuer.mint({ expiresIn: 12 * 3600 });
  return {
    key,
    label,
    kind: "receiver",
    origin,
    path: "/api/alerts",
    headers: { authorization: `Bearer ${token}` },
    bodies: uniqueAlerts(key),
    pid: child.pid,
    usesPostgres: store === "postgres",
    databaseUrl,
  };
}

/**
 * The floor of a store (floor-server.ts): the receiver's group commit and store layer storing each
 * body, nothing else. Same store settings as the receiver's: a fresh PostgreSQL database, or its
 * own data directory.
 */
export async function startFloor(context: StartContext, store: Store, databaseUrl?: string): Promise<Target> {
  const port = await freePort();
  const key = `${store}_floor`;
  const child = context.supervisor.spawn(`floor ${store}`, process.execPath, ["test/bench/floor-server.ts"], {
    cwd: REPO_ROOT,
    // Not the bench's own DATABASE_URL: it would take the embedded floor to that server.
    env: { ...inheritedEnv(), PORT: String(port), ...(await storeEnv(context, key, store, databaseUrl)) },
  });
  const origin = `http://127.0.0.1:${port}`;
  await context.supervisor.waitReady(child, `${origin}/readyz`, context.readyTimeoutMs);
  return { key, label: `floor ${store} (bare durable insert)`, kind: "floor", origin, path: "/api/alerts", headers: {}, bodies: uniqueAlerts(key), pid: child.pid, usesPostgres: store === "postgres" };
}

/** Bodies the floor has stored so far. */
export async function floorStored(target: Target): Promise<number> {
  const response = await fetch(`${target.origin}/stored`);
  if (!response.ok) throw new Error(`${target.key}: GET /stored answered ${response.status}`);
  return ((await response.json()) as { stored: number }).stored;
}

/** The Alertmanager binary: $ALERTMANAGER_BIN, or the Debian package's / upstream's name on PATH. */
export function findAlertmanager(): string | undefined {
  const candidates = process.env.ALERTMANAGER_BIN
    ? [process.env.ALERTMANAGER_BIN]
    : (process.env.PATH ?? "").split(delimiter).flatMap((dir) => [join(dir, "prometheus-alertmanager"), join(dir, "alertmanager")]);
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** "0.25.0" from `alertmanager, version 0.25.0 (branch: …)`. */
export function alertmanagerVersion(binary: string): string {
  const text = execFileSync(binary, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return /version (\S+)/.exec(text)?.[1] ?? "unknown";
}

// Every alert goes to a receiver with no integrations: Alertmanager stores and groups it, sends nothing.
const ALERTMANAGER_CONFIG = `route:
  receiver: blackhole
receivers:
  - name: blackhole
`;

export async function startAlertmanager(context: StartContext, binary: string): Promise<Target> {
  const dir = await tempDir(context.supervisor, "alertmanager");
  await writeFile(join(dir, "alertmanager.yml"), ALERTMANAGER_CONFIG);
  const port = await freePort();
  const child = context.supervisor.spawn("alertmanager", binary, [
    `--config.file=${join(dir, "alertmanager.yml")}`,
    `--storage.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // An empty address turns clustering off (it would listen on 0.0.0.0:9094 and gossip).
    "--cluster.listen-address=",
    "--log.level=warn",
  ], { env: process.env });
  const origin = `http://127.0.0.1:${port}`;
  await context.supervisor.waitReady(child, `${origin}/-/ready`, context.readyTimeoutMs);
  return { key: "alertmanager", label: "Alertmanager", kind: "alertmanager", origin, path: "/api/v2/alerts", headers: {}, bodies: alertmanagerAlerts("alertmanager"), pid: child.pid, usesPostgres: false };
}

/** The PostgreSQL server the bench creates its databases on (any database of it, for CREATE/DROP). */
const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** True when PostgreSQL runs on this machine, so its processes' CPU can be read. */
export function postgresIsLocal(): boolean {
  return ["127.0.0.1", "localhost", "[::1]", "::1"].includes(new URL(BENCH_DATABASE_URL).hostname);
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${BENCH_DATABASE_URL} (${(error as Error).message}): start it, point BENCH_DATABASE_URL at a server where this user may CREATE DATABASE, or leave it out with --stores=pglite`,
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Fails with what to do when the PostgreSQL server cannot be reached. */
export async function checkPostgres(): Promise<void> {
  await admin((client) => client.query("SELECT 1"));
}

/** A new, empty database, dropped at shutdown (WITH (FORCE): receivers may still hold connections). */
export async function createBenchDatabase(supervisor: Supervisor): Promise<string> {
  supervisor.check();
  const name = `secure_export_bench_${randomBytes(6).toString("hex")}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  supervisor.defer(`drop database ${name}`, () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined));
  const url = new URL(BENCH_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface SequentialScans {
  scans: number;
  rowsRead: number;
}

/**
 * Sequential scans on the database's own tables so far, whatever its schema (pg_stat_user_tables).
 * Rows read by sequential scans per alert stay flat on a healthy intake path; they grow with the
 * ledger when a plan scans a table (e.g. a generic plan chosen while the tables were small).
 */
export async function sequentialScans(databaseUrl: string): Promise<SequentialScans> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ scans: string | null; rows_read: string | null }>(
      "SELECT sum(seq_scan) AS scans, sum(seq_tup_read) AS rows_read FROM pg_stat_user_tables",
    );
    return { scans: Number(rows[0]?.scans ?? 0), rowsRead: Number(rows[0]?.rows_read ?? 0) };
  } finally {
    await client.end();
  }
}
