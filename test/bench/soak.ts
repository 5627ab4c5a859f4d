/**
 * `npm run soak`: a sustained run (default 100,000 alerts) against the receiver as the image runs
 * it, sampling its resident memory from /metrics every second. Reports the peak and the last
 * sample, so an unbounded growth shows. Not part of `npm test` (minutes long).
 *
 *   npm run soak -- --alerts 100000 --connections 16     (DATABASE_URL=… for PostgreSQL)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_TENANT_ID } from "../../receiver/local/local-identity.ts";
import { startLocalIssuer } from "../../receiver/local/local-issuer.ts";
import { start } from "../support/processes.ts";
import { payloadStream } from "./payloads.ts";

const { values: args } = parseArgs({ options: { alerts: { type: "string", default: "100000" }, connections: { type: "string", default: "16" } } });
const total = Number(args.alerts);

const issuer = await startLocalIssuer();
const dataDir = await mkdtemp(join(tmpdir(), "secure-export-soak-"));
const receiver = start(["receiver/src/serve.ts"], {
  ...process.env,
  PORT: "0",
  HOST: "127.0.0.1",
  LOG_LEVEL: "info",
  DATA_DIR: dataDir,
  ENTRA_TENANT_ID: LOCAL_TENANT_ID,
  ENTRA_AUDIENCES: `${LOCAL_APP_ID_URI},${LOCAL_APP_CLIENT_ID}`,
  ENTRA_AUTHORITY: issuer.url,
});
const [, url] = await receiver.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);

const samples: number[] = [];
const sampler = setInterval(async () => {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => "");
  const rss = /^process_resident_memory_bytes (\d+)/m.exec(text)?.[1];
  if (rss) samples.push(Number(rss));
}, 1000);

try {
  const next = payloadStream({ resolvedShare: 0.2, duplicateShare: 0.1 }, 42);
  const instance = autocannon({
    url: `${url}/api/alerts`,
    method: "POST",
    connections: Number(args.connections),
    amount: total,
    headers: { "content-type": "application/json", authorization: `Bearer ${await issuer.mint({ expiresIn: 6 * 3600 })}` },
    requests: [{ setupRequest: (request: any) => ({ ...request, body: next() }) }],
  });
  autocannon.track(instance as unknown as autocannon.Instance, { renderProgressBar: true, renderResultsTable: false, renderLatencyTable: false });
  const result = await instance;
  const mb = (bytes: number) => Math.round(bytes / 1_048_576);
  const firstMinute = samples.slice(0, 60);
  const report = {
    alerts: total,
    store: process.env.DATABASE_URL ? "postgres" : "pglite",
    rps: Math.round(result.requests.average),
    p99_ms: result.latency.p99,
    non2xx: result.non2xx,
    rss_peak_mb: mb(Math.max(...samples)),
    rss_first_minute_peak_mb: mb(Math.max(...firstMinute)),
    rss_last_mb: mb(samples.at(-1) ?? 0),
  };
  console.log(JSON.stringify(report));
} finally {
  clearInterval(sampler);
  await receiver.stop();
  await issuer.close();
  await rm(dataDir, { recursive: true, force: true });
}
