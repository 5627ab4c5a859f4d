/**
 * POST /api/alerts status codes as docs/http-api.md#http-api fixes them, and properties: no body, however
 * malformed, gets a 5xx or takes the receiver down.
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

describe("status codes", () => {
  it.each(fixtureNames())("202 for the sample %s", async (name) => {
    const response = await post(JSON.stringify(fixture(name)));
    expect(response.statusCode).toBe(202);
  });

  it("202 with a charset in the content type", async () => {
    expect((await post(JSON.stringify(fixture("metric-static-fired.json")), { "content-type": "application/json; charset=utf-8" })).statusCode).toBe(202);
  });

  it.each([
    ["truncated JSON", '{"schemaId": "azureMonitorCommonAlertSchema", "data": {'],
    ["not JSON at all", "hello"],
    ["an empty body", ""],
  ])("400 for %s", async (_name, body) => {
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: "malformed_json" });
  });

  it("202 for a valid alert carrying prototype-poisoning keys, which are dropped, not applied", async () => {
    const body = JSON.stringify(fixture("metric-static-fired.json")).replace('"alertContext":', '"__proto__":{"polluted":true},"alertContext":');
    const response = await post(body.replace('"schemaId"', '"constructor":{"prototype":{"polluted":true}},"schemaId"'));
    expect(response.statusCode).toBe(202);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("413 over the body limit", async () => {
    const big = fixture("metric-static-fired.json");
    big.data.essentials.description = "x".repeat(70_000);
    const response = await post(JSON.stringify(big));
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ error: "payload_too_large" });
  });

  it.each(["text/plain", "application/xml", "application/x-www-form-urlencoded"])("415 for %s", async (type) => {
    const response = await post(JSON.stringify(fixture("metric-static-fired.json")), { "content-type": type });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ error: "unsupported_media_type" });
  });

  it("422 naming the field for JSON that is not the common alert schema", async () => {
    const legacy = { schemaId: "Microsoft.Insights/activityLogs", data: { status: "Activated", context: {} } };
    const response = await post(JSON.stringify(legacy));
    expect(response.statusCode).toBe(422);
    expect(response.json()).toEqual({
      error: "not_common_alert_schema",
      message: 'not a common alert schema notification: schemaId must be "azureMonitorCommonAlertSchema"',
    });
    const noCondition = fixture("metric-static-fired.json");
    delete noCondition.data.essentials.monitorCondition;
    expect((await post(JSON.stringify(noCondition))).json().message).toContain("data.essentials.monitorCondition is required");
  });

  it("404 for unknown routes, in the same error shape", async () => {
    const response = await stack.receiver.app.inject({ method: "GET", url: "/nope" });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: "not_found" });
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
