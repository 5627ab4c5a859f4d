/**
 * Killing the receiver (SIGKILL) in the middle of a burst loses no acknowledged alert: after a
 * restart, every alertId that got a 2xx has its incident. The receiver runs as the image runs it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_TENANT_ID } from "../../receiver/local/local-identity.ts";
import { startLocalIssuer, type LocalIssuer } from "../../receiver/local/local-issuer.ts";
import { operatorClient } from "../support/api.ts";
import { wrapContext } from "../support/fixtures.ts";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";
import { start, waitReady, type Running } from "../support/processes.ts";

let issuer: LocalIssuer;
beforeAll(async () => {
  issuer = await startLocalIssuer();
});
afterAll(() => issuer.close());

async function serve(env: Record<string, string>): Promise<{ process: Running; url: string }> {
  const process_ = start(["receiver/src/serve.ts"], {
    PATH: process.env.PATH,
    PORT: "0",
    METRICS_PORT: "0",
    HOST: "127.0.0.1",
    ENTRA_TENANT_ID: LOCAL_TENANT_ID,
    ENTRA_AUDIENCES: `${LOCAL_APP_ID_URI},${LOCAL_APP_CLIENT_ID}`,
    ENTRA_AUTHORITY: issuer.url,
    ...env,
  });
  const [, url] = await process_.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
  await waitReady(url!, process_);
  return { process: process_, url: url! };
}

type Store = { name: string; env: () => Promise<Record<string, string>>; cleanup: () => Promise<void> };
let dataDir: string | undefined;
let database: TestDatabase | undefined;
const stores: Store[] = [
  {
    name: "embedded store",
    env: async () => ({ DATA_DIR: (dataDir = await mkdtemp(join(tmpdir(), "secure-export-crash-"))) }),
    cleanup: async () => {
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  },
  {
    name: "PostgreSQL",
    env: async () => ({ DATABASE_URL: (database = await createTestDatabase()).url }),
    cleanup: async () => {
      await database?.drop();
    },
  },
];

describe.each(stores)("SIGKILL under load, $name", (store) => {
  afterAll(() => store.cleanup());

  // A fresh embedded store runs initdb (PGlite) before it listens: seconds to tens of seconds on a busy machine.
  it("keeps every acknowledged alert", { timeout: 120_000 }, async () => {
    const env = await store.env();
    const first = await serve(env);
    const token = await issuer.mint({ expiresIn: 3600 });
    const acknowledged: string[] = [];
    let killed = false;
    const TOTAL = 400;
    const CONCURRENCY = 16;
    let next = 0;

    async function worker() {
      while (next < TOTAL) {
        const body = wrapContext(next % 2 ? "metric-static.json" : "log-alerts-v2.json");
        next += 1;
        try {
          const response = await fetch(`${first.url}/api/alerts`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          if (response.status >= 200 && response.status < 300) acknowledged.push(body.data.essentials.alertId);
        } catch {
          // The receiver is gone: this alert was never acknowledged, Azure would retry it.
        }
        if (!killed && acknowledged.length >= 60) {
          killed = true;
          first.process.child.kill("SIGKILL");
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await first.process.stop();
    expect(killed).toBe(true);
    expect(acknowledged.length).toBeGreaterThanOrEqual(60);

    const second = await serve(env);
    try {
      const api = operatorClient(issuer, second.url);
      const stored = new Set<string>();
      let cursor: string | null = null;
      do {
        const page: { status: number; body: any } = await api.get(`/api/incidents?limit=200${cursor ? `&cursor=${cursor}` : ""}`);
        expect(page.status).toBe(200);
        for (const incident of page.body.items) stored.add(incident.alertId);
        cursor = page.body.nextCursor;
      } while (cursor);
      const lost = acknowledged.filter((alertId) => !stored.has(alertId));
      expect(lost).toEqual([]);
    } finally {
      await second.process.stop();
    }
  });
});

describe("SIGTERM under load, PostgreSQL", () => {
  let database: TestDatabase | undefined;
  afterAll(() => database?.drop());

  it("answers every request in flight — 202 only for what it stored — commits what is queued, and exits 0", { timeout: 120_000 }, async () => {
    database = await createTestDatabase();
    const env = { DATABASE_URL: database.url };
    const first = await serve(env);
    const token = await issuer.mint({ expiresIn: 3600 });
    const answers: Array<{ alertId: string; status: number | "no answer" }> = [];
    let stopping: Promise<number | null> | null = null;
    const TOTAL = 400;
    let next = 0;
    async function worker() {
      while (next < TOTAL) {
        const body = wrapContext("metric-static.json");
        next += 1;
        const status = await fetch(`${first.url}/api/alerts`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        }).then(
          (r) => r.status,
          () => "no answer" as const,
        );
        answers.push({ alertId: body.data.essentials.alertId, status });
        if (!stopping && answers.length >= 60) stopping = first.process.stop("SIGTERM");
      }
    }
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(await stopping).toBe(0);
    const acknowledged = answers.filter((a) => a.status === 202).map((a) => a.alertId);
    expect(acknowledged.length).toBeGreaterThanOrEqual(60);
    // Only 202 (stored), 503 (shutting down: Azure retries) or a refused connection once it stopped listening.
    for (const a of answers) expect([202, 503, "no answer"]).toContain(a.status);

    const second = await serve(env);
    try {
      const api = operatorClient(issuer, second.url);
      for (const alertId of acknowledged) expect(await api.incidentFor(alertId), alertId).not.toBeNull();
    } finally {
      await second.process.stop();
    }
  });
});
