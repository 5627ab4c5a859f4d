/**
 * `npm run bench`: the receiver under load over loopback, against the ceiling of a bare Fastify
 * route on the same machine. Receiver and ceiling run as separate processes (as the image runs
 * the receiver); autocannon drives them from this one.
 *
 *   npm run bench                      embedded store, 10 s per run
 *   DATABASE_URL=postgres://… npm run bench
 *   npm run bench -- --duration 30 --connections 64 --scale
 *
 * --scale adds a run against a ledger pre-filled with 1,000,000 incidents.
 * The last line is JSON: {"receiver_rps","ceiling_rps","ratio","p99_ms","store",…}.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_TENANT_ID } from "../../receiver/local/local-identity.ts";
import { startLocalIssuer } from "../../receiver/local/local-issuer.ts";
import { openDatabase } from "../../receiver/src/store/open-database.ts";
import { start, type Running } from "../support/processes.ts";
import { payloadStream } from "./payloads.ts";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    scale: { type: "boolean", default: false },
    incidents: { type: "string", default: "1000000" },
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
const databaseUrl = process.env.DATABASE_URL;
const store = databaseUrl ? "postgres" : "pglite";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    const open = await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false);
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

async function waitReady(url: string, process_: Running): Promise<void> {
  for (let i = 0; i < 600; i += 1) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became ready:\n${process_.output()}`);
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(title: string, url: string, headers: Record<string, string>, next: () => string): Promise<Result> {
  process.stderr.write(`\n${title}\n`);
  const instance = autocannon({
    url: `${url}/api/alerts`,
    method: "POST",
    connections,
    duration,
    headers: { "content-type": "application/json", ...headers },
    requests: [{ setupRequest: (request: any) => ({ ...request, body: next() }) }],
  });
  autocannon.track(instance as unknown as autocannon.Instance, { renderProgressBar: true, renderResultsTable: false, renderLatencyTable: false });
  const result = await instance;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

async function seed(env: Record<string, string>, count: number): Promise<void> {
  process.stderr.write(`\nseeding ${count.toLocaleString()} incidents…\n`);
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR! });
  try {
    await db.query(
      `INSERT INTO incidents (alert_id, state, title, monitoring_service, family, severity, fired_at, last_at, last_rank, last_key)
       SELECT '/subscriptions/00000000-0000-4000-8000-00000000be0c/providers/Microsoft.AlertsManagement/alerts/seed-' || g,
              CASE WHEN g % 3 = 0 THEN 'resolved' ELSE 'open' END, 'seeded', 'Platform', 'metric', 'Sev3',
              timestamptz '2025-01-01' + g * interval '1 second', '2025-01-01T00:00:00Z', 0, 'seed'
       FROM generate_series(1, $1::int) AS g`,
      [count],
    );
  } finally {
    await db.close();
  }
}

async function receiverRun(label: string, env: Record<string, string>, token: string, issuerUrl: string): Promise<Result> {
  const port = await freePort();
  const receiver = start(["receiver/src/serve.ts"], {
    ...process.env,
    ...env,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    ENTRA_TENANT_ID: LOCAL_TENANT_ID,
    ENTRA_AUDIENCES: `${LOCAL_APP_ID_URI},${LOCAL_APP_CLIENT_ID}`,
    ENTRA_AUTHORITY: issuerUrl,
  });
  try {
    await waitReady(`http://127.0.0.1:${port}/readyz`, receiver);
    return await load(label, `http://127.0.0.1:${port}`, { authorization: `Bearer ${token}` }, payloadStream({ resolvedShare: 0.2, duplicateShare: 0.1 }, label.length));
  } finally {
    await receiver.stop();
  }
}

const issuer = await startLocalIssuer();
const token = await issuer.mint({ expiresIn: 4 * 3600 });
const dataDir = await mkdtemp(join(tmpdir(), "secure-export-bench-"));
const env: Record<string, string> = databaseUrl ? { DATABASE_URL: databaseUrl } : { DATA_DIR: dataDir };
const rows: Record<string, Record<string, number | string>> = {};
const json: Record<string, number | string> = { store };

try {
  const ceilingPort = await freePort();
  const ceiling = start(["test/bench/ceiling-server.ts"], { ...process.env, PORT: String(ceilingPort) });
  let ceilingResult: Result;
  try {
    await waitForPort(ceilingPort);
    ceilingResult = await load("ceiling: bare Fastify route, same body", `http://127.0.0.1:${ceilingPort}`, {}, payloadStream({ resolvedShare: 0.2, duplicateShare: 0.1 }, 7));
  } finally {
    await ceiling.stop();
  }
  const receiverResult = await receiverRun(`receiver (${store} store, empty ledger)`, env, token, issuer.url);
  rows.ceiling = { "req/s": Math.round(ceilingResult.rps), "p50 ms": ceilingResult.p50, "p99 ms": ceilingResult.p99, "non-2xx": ceilingResult.non2xx, errors: ceilingResult.errors };
  rows[`receiver, ${store}, empty`] = { "req/s": Math.round(receiverResult.rps), "p50 ms": receiverResult.p50, "p99 ms": receiverResult.p99, "non-2xx": receiverResult.non2xx, errors: receiverResult.errors };
  Object.assign(json, {
    receiver_rps: Math.round(receiverResult.rps),
    ceiling_rps: Math.round(ceilingResult.rps),
    ratio: Number((receiverResult.rps / ceilingResult.rps).toFixed(3)),
    p50_ms: receiverResult.p50,
    p99_ms: receiverResult.p99,
    non2xx: receiverResult.non2xx,
    connections,
    duration_s: duration,
  });

  if (args.scale) {
    const count = Number(args.incidents);
    await seed(env, count);
    const scaled = await receiverRun(`receiver (${store} store, ${count.toLocaleString()} incidents)`, env, token, issuer.url);
    rows[`receiver, ${store}, ${count.toLocaleString()} incidents`] = { "req/s": Math.round(scaled.rps), "p50 ms": scaled.p50, "p99 ms": scaled.p99, "non-2xx": scaled.non2xx, errors: scaled.errors };
    Object.assign(json, { scaled_incidents: count, scaled_rps: Math.round(scaled.rps), scaled_p99_ms: scaled.p99 });
  }
} finally {
  await issuer.close();
  await rm(dataDir, { recursive: true, force: true });
}

console.log();
console.table(rows);
console.log(JSON.stringify(json));
