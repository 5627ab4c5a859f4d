/**
 * Starting the receiver: what stops it is one line that says what to do (start-up.ts), a failed
 * start leaves nothing behind, and the background jobs wait for the store instead of logging
 * failures while it opens.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack } from "../../receiver/local/start-local-stack.ts";
import { startReceiver } from "../../receiver/src/receiver.ts";
import { describeStartUpFailure } from "../../receiver/src/start-up.ts";
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "../support/postgres.ts";
import { testConfig } from "../support/stack.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { startLocalIssuer, type LocalIssuer } from "../../receiver/local/local-issuer.ts";

let dir: string;
let issuer: LocalIssuer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "secure-export-start-up-"));
  issuer = await startLocalIssuer();
});
afterAll(async () => {
  await issuer.close();
  await rm(dir, { recursive: true, force: true });
});

/** A pino logger writing its JSON lines into an array. */
function captureLog() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: "debug", serializers: { err: pino.stdSerializers.errWithCause } }, stream), lines };
}

describe("a local stack whose DATABASE_URL cannot be used", () => {
  const url = (change: (url: URL) => void) => {
    const u = new URL(TEST_DATABASE_URL);
    change(u);
    return u.toString();
  };

  it.each([
    ["a role that does not exist", url((u) => (u.username = "nobody_secure_export")), /^cannot open PostgreSQL at [^,]+, database \w+, user nobody_secure_export: role "nobody_secure_export" does not exist \(28000\); check the user and password in DATABASE_URL$/],
    ["a database that does not exist", url((u) => (u.pathname = "/secure_export_nope")), /^cannot open PostgreSQL at [^,]+, database secure_export_nope, user \w+: database "secure_export_nope" does not exist \(3D000\); create that database \(createdb <name>\) or name an existing one in DATABASE_URL$/],
  ])("gives up on %s, saying what to do", async (_case, databaseUrl, expected) => {
    const startedAt = Date.now();
    const failure = await startLocalStack({ env: { PORT: "0", ISSUER_PORT: "0", DATA_DIR: join(dir, "unused"), DATABASE_URL: databaseUrl }, storeGiveUpMs: 1500 }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    const { message, exitCode } = describeStartUpFailure(failure);
    expect(message).toMatch(expected);
    expect(exitCode).toBe(2);
  });
});

describe("a receiver whose metrics port is taken", () => {
  it("releases the data directory's lock and its API port", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as { port: number }).port;
    const dataDir = join(dir, "metrics-taken");
    try {
      const config = testConfig(issuer.url, { METRICS_PORT: String(taken), DATA_DIR: dataDir });
      const error = await startReceiver(config).then(() => null, (e: unknown) => e);
      expect(describeStartUpFailure(error, [{ variable: "PORT", port: config.port }, { variable: "METRICS_PORT", port: taken }]).message).toBe(
        `port ${taken} on 127.0.0.1 is already in use by another program; stop it or choose another METRICS_PORT`,
      );
      expect(existsSync(join(dataDir, "receiver.lock"))).toBe(false);
      // Nothing of the failed start is left: the same directory opens again at once.
      const again = await startReceiver(testConfig(issuer.url, { DATA_DIR: dataDir }));
      await again.close();
    } finally {
      blocker.close();
    }
  }, 120_000);
});

describe("the background jobs while the store opens", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it("wait for it instead of failing and logging stacks (the hold-release job runs every 5 s)", async () => {
    const proxy = await startTcpProxy(Number(new URL(database.url).port || 5432));
    await proxy.down();
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const { logger, lines } = captureLog();
    const receiver = await startReceiver(testConfig(issuer.url, { DATABASE_URL: viaProxy.toString() }), { logger });
    try {
      // Longer than the hold-release interval, with the store unreachable all along.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      await proxy.up();
      await receiver.storeReady;
      const warnings = lines.filter((l) => (l.level as number) >= 40);
      // Only the store's own retries, one line each, without a stack and without saying the cause twice.
      expect(warnings.map((w) => w.msg)).toEqual(warnings.map(() => expect.stringMatching(/^store: cannot open PostgreSQL at .* yet \(connect ECONNREFUSED [\d.:]+\); alerts get 503 until it can$/)));
      expect(warnings.length).toBeGreaterThan(0);
      expect(lines.filter((l) => l.err !== undefined)).toEqual([]);
    } finally {
      await receiver.close();
      await proxy.close();
    }
  }, 60_000);
});
