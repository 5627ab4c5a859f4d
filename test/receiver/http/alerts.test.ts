/**
 * POST /api/alerts through a real store and real tokens: every published sample is stored, no body
 * however malformed gets a 5xx or takes the receiver down, and the log says why a token was refused
 * without the token. (What the HTTP layer answers by itself is in status.test.ts.)
 */
import { Writable } from "node:stream";
import fc from "fast-check";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type RunningReceiver } from "../../../receiver/src/receiver.ts";
import type { Database } from "../../../receiver/src/store/database.ts";
import { migrate } from "../../../receiver/src/store/migrate.ts";
import { openPglite } from "../../../receiver/src/store/pglite-database.ts";
import { fixture, fixtureNames } from "../../support/fixtures.ts";
import { startTestStack, type TestStack } from "../../support/stack.ts";

let db: Database;
let stack: TestStack;
let token: string;

beforeAll(async () => {
  db = await openPglite(undefined);
  await migrate(db);
  stack = await startTestStack({ db, env: { BODY_LIMIT_BYTES: "65536" } });
  token = await stack.issuer.mint({ expiresIn: 7200 });
});
afterAll(async () => {
  await stack.close();
  await db.close();
});

function post(body: string | Buffer, headers: Record<string, string> = {}) {
  return stack.receiver.app.inject({
    method: "POST",
    url: "/api/alerts",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    payload: body,
  });
}

describe("stored", () => {
  it.each(fixtureNames())("202 for the sample %s", async (name) => {
    const response = await post(JSON.stringify(fixture(name)));
    expect(response.statusCode).toBe(202);
  });

  it("health and readiness", async () => {
    expect((await stack.receiver.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    expect((await stack.receiver.app.inject({ method: "GET", url: "/readyz" })).json()).toEqual({ status: "ready", database: "ok", signingKeys: "ok" });
  });
});

describe("properties", () => {
  const valid = fixture("metric-static-fired.json");
  const noServerError = (status: number) => status < 500;

  it("no arbitrary JSON value gets a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const response = await post(JSON.stringify(value));
        expect([400, 413, 422]).toContain(response.statusCode);
      }),
      { numRuns: 200 },
    );
  });

  it("no arbitrary byte string gets a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        const response = await post(Buffer.from(bytes));
        expect(noServerError(response.statusCode)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("a valid payload with any one field replaced by any JSON value gets 202 or 422, never a 5xx", async () => {
    const paths = [
      ["schemaId"], ["data"], ["data", "essentials"], ["data", "alertContext"], ["data", "customProperties"],
      ...Object.keys(valid.data.essentials).map((k) => ["data", "essentials", k]),
      ["data", "alertContext", "condition"], ["data", "alertContext", "condition", "allOf"],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.jsonValue(), async (path, value) => {
        const body = structuredClone(valid);
        let target = body;
        for (const key of path.slice(0, -1)) target = target[key];
        if (target === null || typeof target !== "object") return;
        target[path.at(-1)!] = value;
        const response = await post(JSON.stringify(body));
        expect([202, 422]).toContain(response.statusCode);
      }),
      { numRuns: 300 },
    );
  });

  it("any alertContext at all is accepted for every known service", async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue()), fc.constantFrom("Platform", "Log Alerts V2", "Log Analytics", "ServiceHealth", "CostAlerts", "Prometheus", "Resource Health", "SmartDetector", "Activity Log - Administrative"), async (context, service) => {
        const body = structuredClone(valid);
        body.data.alertContext = context;
        body.data.essentials.monitoringService = service;
        const response = await post(JSON.stringify(body));
        expect(response.statusCode).toBe(202);
      }),
      { numRuns: 200 },
    );
  });

  it("random content types get 415 (or are parsed as JSON), never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 60 }), async (type) => {
        const response = await post(JSON.stringify(valid), { "content-type": type });
        expect(noServerError(response.statusCode)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe("logging", () => {
  it("logs why a token was refused, and never the token", async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const receiver: RunningReceiver = await startReceiver(stack.config, { db, logger: pino({ level: "info" }, stream) });
    try {
      const expired = await stack.issuer.mint({ expiresIn: -3600 });
      const good = await stack.issuer.mint();
      for (const bearer of [expired, good]) {
        await fetch(`${receiver.url}/api/alerts`, {
          method: "POST",
          headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
          body: JSON.stringify(fixture("smartdetector-fired.json")),
        });
      }
      const log = lines.join("");
      expect(log).toContain("token is expired");
      // Every line about the stored alert carries its alertId, the request's last line too.
      const alertId = fixture("smartdetector-fired.json").data.essentials.alertId;
      const stored = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "notification stored");
      expect(stored).toHaveLength(1);
      const completed = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request completed" && l.reqId === stored[0].reqId);
      expect(completed).toEqual([expect.objectContaining({ alertId, status: 202 })]);
      // Probes, asked every few seconds per replica, write nothing.
      const before = lines.length;
      for (const probe of ["/healthz", "/readyz"]) await fetch(`${receiver.url}${probe}`);
      expect(lines.slice(before)).toEqual([]);
      expect(log).not.toContain(expired.split(".")[1]);
      expect(log).not.toContain(good.split(".")[1]);
      expect(log).not.toContain(good.split(".")[2]);
    } finally {
      await receiver.close();
    }
  });
});
