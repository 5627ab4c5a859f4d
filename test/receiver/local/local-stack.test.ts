/** `npm start` and `npm run send-alert` as a user runs them, in separate processes. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPglite } from "../../../receiver/src/store/pglite-database.ts";
import { run, start, waitReady, type Running } from "../../support/processes.ts";

let dataDir: string;
let stack: Running;
let receiverUrl: string;
let issuerUrl: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "secure-export-local-"));
  stack = start(["receiver/local/local-stack.ts"], { PATH: process.env.PATH, PORT: "0", METRICS_PORT: "0", ISSUER_PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "warn" });
  receiverUrl = (await stack.waitFor(/receiver\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  issuerUrl = (await stack.waitFor(/token issuer\s+(http:\/\/127\.0\.0\.1:\d+)\//))[1]!;
  await waitReady(receiverUrl, stack);
  // A fresh embedded store runs PGlite's initdb first: tens of seconds on a busy machine.
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const sendAlert = (...args: string[]) =>
  run(["receiver/local/send-alert.ts", ...args, "--receiver", receiverUrl, "--issuer", issuerUrl], { PATH: process.env.PATH });

describe("the local stack", () => {
  it("prints how to send an alert", () => {
    expect(stack.output()).toContain("npm run send-alert -- test/fixtures/azure-monitor/metric-static-fired.json");
  });

  it("accepts a fired alert and its resolution sent with send-alert, and keeps them across a restart", async () => {
    const fired = await sendAlert("test/fixtures/azure-monitor/metric-static-fired.json");
    expect(fired.stdout).toMatch(/^202 Accepted/);
    expect(fired.code).toBe(0);
    const resolved = await sendAlert("test/fixtures/azure-monitor/metric-static-fired.json", "--resolve");
    expect(resolved.stdout).toMatch(/^202 Accepted/);

    expect(await stack.stop("SIGINT")).toBe(0);
    const db = await openPglite(join(dataDir, "pglite"));
    try {
      const { rows } = await db.query<{ monitor_condition: string }>("SELECT monitor_condition FROM notifications ORDER BY id");
      expect(rows.map((r) => r.monitor_condition)).toEqual(["Fired", "Resolved"]);
    } finally {
      await db.close();
    }
  });

  it("send-alert says so when nothing is listening", async () => {
    const result = await run(["receiver/local/send-alert.ts", "test/fixtures/azure-monitor/metric-static-fired.json", "--issuer", "http://127.0.0.1:1"], { PATH: process.env.PATH });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("token issuer at http://127.0.0.1:1 is not reachable");
  });
});
