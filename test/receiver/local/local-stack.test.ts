/** `npm start` and `npm run send-alert` as a user runs them, in separate processes. */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPglite } from "../../../receiver/src/store/pglite-database.ts";
import { fixture } from "../../support/fixtures.ts";
import { run, start, waitReady, type Running } from "../../support/processes.ts";

let dataDir: string;
let stack: Running;
let receiverUrl: string;
let issuerUrl: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "secure-export-local-"));
  // METRICS_PORT left unset: the local stack must pick a free one by itself (9464 is often taken).
  stack = start(["receiver/local/local-stack.ts"], { PATH: process.env.PATH, PORT: "0", ISSUER_PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "warn" });
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

  it("serves metrics on a free port it chose, and prints it", async () => {
    const metrics = (await stack.waitFor(/metrics\s+(http:\/\/127\.0\.0\.1:\d+\/metrics)/))[1]!;
    expect(new URL(metrics).port).not.toBe("9464");
    const response = await fetch(metrics);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("# TYPE");
  });

  it("a second start on the same data directory says who holds it in one line, and leaves the first one's lock alone", async () => {
    const second = await run(["receiver/local/local-stack.ts"], { PATH: process.env.PATH, PORT: "0", ISSUER_PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "warn" });
    expect(second.code).toBe(2);
    expect(second.stderr.trim()).toMatch(new RegExp(`^secure-export receiver: ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is in use by process ${stack.child.pid} on .*; stop that process or give this one another DATA_DIR$`));
    expect(existsSync(join(dataDir, "receiver.lock"))).toBe(true);
  });

  it("send-alert says when the receiver already had an alert, and --new sends it as a new one that the command it prints resolves", async () => {
    const sample = "test/fixtures/azure-monitor/logalertsv2-fired.json";
    await sendAlert(sample);
    const again = await sendAlert(sample);
    expect(again.stdout).toContain('"duplicate":true');
    expect(again.stdout).toContain("Already received");
    expect(again.stdout).toContain("Add --new to send it as a new alert.");

    const fresh = await sendAlert(sample, "--new");
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toContain('"duplicate":false');
    const resolveWith = /Resolve it with: npm run send-alert -- (.*)$/m.exec(fresh.stdout)![1]!.split(" ");
    expect(resolveWith).toEqual(expect.arrayContaining([sample, "--resolve", "--alert-id"]));
    const resolved = await run(["receiver/local/send-alert.ts", ...resolveWith], { PATH: process.env.PATH });
    expect(resolved.stdout).toMatch(/^202 Accepted/);
    expect(resolved.stdout).toContain('"duplicate":false');
    expect(JSON.parse(resolved.stdout.split("\n")[1]!).incidentId).toBe(JSON.parse(fresh.stdout.split("\n")[1]!).incidentId);
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
      const { rows } = await db.query<{ monitor_condition: string }>("SELECT monitor_condition FROM notifications WHERE alert_id = $1 ORDER BY id", [
        fixture("metric-static-fired.json").data.essentials.alertId,
      ]);
      expect(rows.map((r) => r.monitor_condition)).toEqual(["Fired", "Resolved"]);
    } finally {
      await db.close();
    }
  });

  it("send-alert --help prints its usage, and a wrong option one line and the usage, without a stack", async () => {
    const help = await run(["receiver/local/send-alert.ts", "--help"], { PATH: process.env.PATH });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run send-alert -- <payload\.json> \[--new\]/);
    expect(help.stdout).toContain("--alert-id ID");
    const wrong = await run(["receiver/local/send-alert.ts", "--nwe", "x.json"], { PATH: process.env.PATH });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^send-alert: Unknown option '--nwe'.*\n\nusage: npm run send-alert/);
    expect(wrong.stderr).not.toMatch(/^\s+at /m);
  });

  it("send-alert says so when nothing is listening", async () => {
    const result = await run(["receiver/local/send-alert.ts", "test/fixtures/azure-monitor/metric-static-fired.json", "--issuer", "http://127.0.0.1:1"], { PATH: process.env.PATH });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("token issuer at http://127.0.0.1:1 is not reachable");
  });
});

/** A port another program holds for the duration of `work`. */
async function withTakenPort<T>(work: (port: number) => Promise<T>): Promise<T> {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  try {
    return await work((blocker.address() as { port: number }).port);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
}

describe("npm start when it cannot start", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "secure-export-start-fails-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const npmStart = (env: Record<string, string>) => run(["receiver/local/local-stack.ts"], { PATH: process.env.PATH, PORT: "0", ISSUER_PORT: "0", DATA_DIR: join(dir, "data"), ...env }, 60_000);

  it.each(["METRICS_PORT", "PORT", "ISSUER_PORT"])("says in one line that the %s it was given is taken, exits 2 and leaves no lock", async (variable) => {
    await withTakenPort(async (port) => {
      const result = await npmStart({ [variable]: String(port) });
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toBe(`secure-export receiver: port ${port} on 127.0.0.1 is already in use by another program; stop it or choose another ${variable}`);
      expect(existsSync(join(dir, "data", "receiver.lock"))).toBe(false);
    });
  });

  it("prints a configuration error exactly as npm run serve does", async () => {
    const rules = { ROUTING_RULES_FILE: join(dir, "no-such-rules.yaml"), LOG_LEVEL: "verbose" };
    const started = await npmStart(rules);
    const served = await run(["receiver/src/serve.ts"], { PATH: process.env.PATH, ENTRA_TENANT_ID: "5e1ec7ed-0000-4000-8000-00000000c0de", ENTRA_AUDIENCES: "api://x", ...rules });
    expect(started.code).toBe(2);
    expect(started.stderr.trim().split("\n")).toHaveLength(1);
    expect(started.stderr).toMatch(/^secure-export receiver: configuration errors: LOG_LEVEL must be one of .*; ROUTING_RULES_FILE names a file that cannot be read/);
    expect(started.stderr).toBe(served.stderr);
  });

  it("gives up on a database that refuses connections within a bounded time, in one line that says what to do", async () => {
    const startedAt = Date.now();
    const result = await npmStart({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/postgres", LOG_LEVEL: "silent" });
    expect(Date.now() - startedAt).toBeLessThan(40_000);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      "secure-export receiver: cannot open PostgreSQL at 127.0.0.1:1, database postgres, user postgres: connect ECONNREFUSED 127.0.0.1:1; is PostgreSQL running there? Check DATABASE_URL, or unset it to use the embedded store",
    );
    expect(result.stdout).not.toContain("Stop with Ctrl+C");
  });
});
