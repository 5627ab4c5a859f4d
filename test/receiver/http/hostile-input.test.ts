/**
 * Input an attacker or a flaky network sends, and values Azure may send that the database cannot
 * hold as they are: every one is either stored and answered 2xx, or refused with a 4xx naming the
 * field — never a retryable 503 for something that cannot succeed, never a 500, and never a
 * "database down" signal a reader can fake.
 */
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../receiver/src/store/database.ts";
import { migrate } from "../../../receiver/src/store/migrate.ts";
import { openPglite } from "../../../receiver/src/store/pglite-database.ts";
import { operatorClient } from "../../support/api.ts";
import { fixture } from "../../support/fixtures.ts";
import { startTestStack, type TestStack } from "../../support/stack.ts";

let db: Database;
let stack: TestStack;

beforeAll(async () => {
  db = await openPglite(undefined);
  await migrate(db);
  // A connector is configured (and unreachable): deliveries are queued as jsonb, which holds less than text.
  stack = await startTestStack({
    db,
    env: { REQUEST_TIMEOUT_SECONDS: "1", SERVICENOW_URL: "http://127.0.0.1:1", SERVICENOW_USERNAME: "u", SERVICENOW_PASSWORD: "p" },
  });
});
afterAll(async () => {
  await stack?.close();
  await db?.close();
});

let n = 0;
function alert(overrides: Record<string, unknown> = {}) {
  const body = fixture("metric-static-fired.json");
  n += 1;
  body.data.essentials = { ...body.data.essentials, alertId: `${body.data.essentials.alertId}-hostile-${n}`, ...overrides };
  return body;
}

async function databaseErrors(): Promise<number> {
  const text = await (await fetch(`${stack.receiver.metricsUrl}/metrics`)).text();
  return Number(/^secure_export_database_errors_total (\d+)/m.exec(text)?.[1] ?? 0);
}

describe("values the database cannot hold as they are", () => {
  it.each([
    ["a NUL in the alert id", { alertId: "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/a\u0000b" }],
    ["a NUL in the rule and description", { alertRule: "cpu\u0000high", description: "x\u0000y" }],
    ["a NUL in a CI name and a target id", { configurationItems: ["vm\u00001"], alertTargetIDs: ["/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v\u0000m"] }],
    ["a lone UTF-16 surrogate (sent on to the ITSM tool)", { alertRule: "cpu \ud800 high", configurationItems: ["vm-\udfff"] }],
    ["an offset beyond ±15:59", { firedDateTime: "2026-11-01T10:00:00+23:00" }],
    ["a leap second", { firedDateTime: "2016-12-31T23:59:60Z" }],
    ["an alert id longer than any index entry", { alertId: `/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/${"a".repeat(3000)}` }],
    ["a CI name longer than any index entry", { configurationItems: ["c".repeat(3000)] }],
  ])("stores %s and answers 202; the incident reads back", async (_name, overrides) => {
    const before = await databaseErrors();
    const response = await stack.postAlert(alert(overrides));
    expect(response.status).toBe(202);
    const { incidentId } = (await response.json()) as { incidentId: string };
    const api = operatorClient(stack.issuer, stack.receiver.url);
    const incident = await api.get(`/api/incidents/${incidentId}`);
    expect(incident.status).toBe(200);
    expect(JSON.stringify(incident.body)).not.toContain("\u0000");
    expect(await databaseErrors()).toBe(before);
  });

  it("finds an incident by an alert id longer than any index entry", async () => {
    const alertId = `/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/${"l".repeat(4000)}`;
    expect((await stack.postAlert(alert({ alertId }))).status).toBe(202);
    const api = operatorClient(stack.issuer, stack.receiver.url);
    const page = await api.get(`/api/incidents?alertId=${encodeURIComponent(alertId)}`);
    expect(page.body.items.map((i: { alertId: string }) => i.alertId)).toEqual([alertId]);
  });

  it.each([
    ["year 0000", "0000-06-01T10:00:00Z"],
    ["1 BC in UTC", "0001-01-01T00:30:00+01:00"],
    ["year 10000 in UTC", "9999-12-31T23:00:00-05:00"],
  ])("refuses a firedDateTime in %s with 422 naming the field", async (_name, firedDateTime) => {
    const response = await stack.postAlert(alert({ firedDateTime }));
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({ error: "not_common_alert_schema", message: expect.stringContaining("data.essentials.firedDateTime") });
  });

  it("refuses JSON nested thousands of levels deep with 422 naming where", async () => {
    // Written as text: JSON.stringify itself cannot nest this deep.
    const deep = `${'{"d":'.repeat(5000)}"bottom"${"}".repeat(5000)}`;
    const response = await stack.postAlert(JSON.stringify(alert()).replace('"alertContext":', `"alertContext":{"nested":${deep}},"was":`));
    expect(response.status).toBe(422);
    expect(((await response.json()) as { message: string }).message).toMatch(/data\.alertContext\.nested(\.d)+ is nested deeper than 64 levels/);
  });
});

describe("read and operator input", () => {
  it.each([
    ["a NUL in a filter", "/api/incidents?alertId=a%00b", 400],
    ["a NUL in an incident id", "/api/incidents/a%00b", 400],
    ["a NUL in a CI id", "/api/cis/%2Fsubscriptions%2Fa%00b", 400],
    ["year 0000 in a filter", "/api/incidents?from=0000-01-01T00:00:00Z", 400],
    ["a forged cursor", `/api/incidents?cursor=${Buffer.from(JSON.stringify({ firedAt: "0000-01-01T00:00:00Z", id: "00000000-0000-0000-0000-000000000000" })).toString("base64url")}`, 400],
    ["a cursor with a time the store would not parse", `/api/incidents?cursor=${Buffer.from(JSON.stringify({ firedAt: "1", id: "00000000-0000-4000-8000-000000000001" })).toString("base64url")}`, 400],
    ["a delivery id past bigint", "/api/deliveries/99999999999999999999", 404],
    ["a delivery cursor past bigint", `/api/deliveries?cursor=${Buffer.from(JSON.stringify("99999999999999999999")).toString("base64url")}`, 400],
  ])("answers %s with a 4xx in the documented shape, not 503, and counts no database error", async (_name, path, status) => {
    const before = await databaseErrors();
    const response = await operatorClient(stack.issuer, stack.receiver.url).get(path);
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ error: expect.any(String), message: expect.any(String) });
    expect(await databaseErrors()).toBe(before);
  });

  it("takes a time filter with any offset a date-time may carry, which the store itself would refuse", async () => {
    const response = await operatorClient(stack.issuer, stack.receiver.url).get(`/api/incidents?from=${encodeURIComponent("2026-01-01T00:00:00+20:00")}&limit=1`);
    expect(response.status).toBe(200);
  });

  it("stores a resolve note with a NUL in it, as U+FFFD", async () => {
    const { incidentId } = (await (await stack.postAlert(alert())).json()) as { incidentId: string };
    const api = operatorClient(stack.issuer, stack.receiver.url);
    const resolved = await api.post(`/api/incidents/${incidentId}/resolve`, { note: "done\u0000now" });
    expect(resolved.status).toBe(200);
    expect(resolved.body.timeline.at(-1).detail.note).toBe("done\ufffdnow");
  });
});

/** Sends raw bytes and collects what comes back until the server closes the socket. */
function raw(request: string, keepOpenMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = new URL(stack.receiver.url);
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(request);
      if (keepOpenMs === 0) socket.end();
    });
    let data = "";
    socket.on("data", (chunk) => (data += chunk));
    socket.on("close", () => resolve(data));
    socket.on("error", reject);
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error(`no answer within 10 s; got ${JSON.stringify(data)}`));
    });
  });
}

describe("the HTTP layer", () => {
  it.each([
    ["to the webhook", "/api/alerts", true],
    ["to a path that does not exist, without a token", "/nowhere", false],
  ])("cuts a body that stops arriving %s with 408 in the documented shape", async (_name, path, withToken) => {
    const authorization = withToken ? `Authorization: Bearer ${await stack.issuer.mint()}\r\n` : "";
    const answer = await raw(`POST ${path} HTTP/1.1\r\nHost: x\r\n${authorization}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"partial":`, 5_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toEqual({ error: "request_timeout", message: "the request did not arrive within 1 s" });
  });

  it("answers headers too large with 431 in the documented shape", async () => {
    const answer = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toMatchObject({ error: "header_too_large" });
  });

  it.each([
    ["a path parameter over 2048 characters", `/api/incidents/${"x".repeat(3000)}`, 414, "uri_too_long"],
    ["a malformed percent-encoding", "/api/incidents/%E0%A4%A", 400, "invalid_request"],
  ])("answers %s in the documented shape", async (_name, path, status, error) => {
    const response = await fetch(`${stack.receiver.url}${path}`);
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ error, message: expect.any(String) });
  });

  it("calls a body shorter than its Content-Length an invalid request, not malformed JSON", async () => {
    const response = await stack.receiver.app.inject({
      method: "POST",
      url: "/api/alerts",
      headers: { authorization: `Bearer ${await stack.issuer.mint()}`, "content-type": "application/json", "content-length": "5" },
      payload: "{}",
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: "invalid_request" });
  });

  it.each([
    ["a gzip body", "gzip"],
    ["a plain body labelled gzip", "gzip"],
    ["a brotli body", "br"],
  ])("refuses %s with 415 instead of guessing", async (_name, encoding) => {
    const response = await fetch(`${stack.receiver.url}/api/alerts`, {
      method: "POST",
      headers: { authorization: `Bearer ${await stack.issuer.mint()}`, "content-type": "application/json", "content-encoding": encoding },
      body: encoding === "gzip" && _name === "a gzip body" ? gzipSync(JSON.stringify(alert())) : JSON.stringify(alert()),
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: "unsupported_content_encoding" });
  });

  it("answers a body over the limit with a 413 that a client writing the whole body before it reads still gets (no EPIPE, no reset)", async () => {
    // A raw client, as the ones that failed: it writes all 2 MiB it declared, and only then reads.
    const size = 2 * 1024 * 1024;
    const token = await stack.issuer.mint();
    const outcome = await new Promise<{ answer: string; error: string | null; written: number }>((resolve) => {
      const socket = connect(Number(new URL(stack.receiver.url).port), "127.0.0.1");
      let answer = "";
      let error: string | null = null;
      let written = 0;
      socket.on("data", (chunk) => (answer += chunk));
      socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
      socket.on("close", () => resolve({ answer, error, written }));
      socket.write(`POST /api/alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
      const chunk = Buffer.alloc(16 * 1024, "x");
      const pump = () => {
        if (socket.destroyed) return;
        if (written >= size) return;
        written += chunk.length;
        // Slow enough that the server answers long before the body is through.
        socket.write(chunk, () => setTimeout(pump, 1));
      };
      pump();
    });
    expect(outcome.error).toBeNull();
    expect(outcome.written).toBe(size);
    expect(outcome.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(JSON.parse(outcome.answer.slice(outcome.answer.indexOf("\r\n\r\n") + 4))).toMatchObject({ error: "payload_too_large" });
  });

  it("does not serve metrics on the API port", async () => {
    expect((await fetch(`${stack.receiver.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${stack.receiver.metricsUrl}/metrics`)).status).toBe(200);
  });
});
