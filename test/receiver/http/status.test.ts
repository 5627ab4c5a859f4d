/**
 * What the HTTP layer answers by itself (docs/http-api.md#http-api): who may call each route, which
 * inputs are refused with which code, and the one error shape — on a fresh app per test, with
 * stand-ins behind it (test/support/app.ts), so none of it needs a store or a token issuer.
 */
import { describe, expect, it } from "vitest";
import { DOCS_REDIRECT_PATH } from "../../../receiver/src/contract.ts";
import { QueueFullError } from "../../../receiver/src/ledger/group-commit.ts";
import { StoreUnavailableError } from "../../../receiver/src/store/database.ts";
import { stubDatabase, stubIntake, testApp } from "../../support/app.ts";
import { fixture } from "../../support/fixtures.ts";

const alert = () => fixture("metric-static-fired.json");

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}, overrides: Parameters<typeof testApp>[0] = {}) {
  const app = await testApp(overrides);
  return app.inject({ method: "POST", url, headers: { authorization: "Bearer webhook", "content-type": "application/json", ...headers }, payload: body });
}

describe("POST /api/alerts", () => {
  it("202 with the stored notification, and what the intake was handed", async () => {
    const intake = stubIntake();
    const response = await post("/api/alerts", JSON.stringify(alert()), { "content-type": "application/json; charset=utf-8" }, { intake });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ status: "accepted", duplicate: false });
    expect(intake.submitted.map((n) => n.alert.alertId)).toEqual([alert().data.essentials.alertId]);
    expect(intake.submitted[0]!.caller).toMatchObject({ callerId: "webhook-app" });
  });

  it("202 not_admitted, naming the rule, when the admission rules refuse it", async () => {
    const intake = stubIntake(() => ({ admitted: false, notificationId: "7", duplicate: false, rule: "only-prod", family: "metric" }));
    expect((await post("/api/alerts", JSON.stringify(alert()), {}, { intake })).json()).toEqual({ status: "not_admitted", rule: "only-prod", notificationId: "7", duplicate: false });
  });

  it.each([
    ["truncated JSON", '{"schemaId": "azureMonitorCommonAlertSchema", "data": {'],
    ["not JSON at all", "hello"],
    ["an empty body", ""],
  ])("400 malformed_json for %s", async (_name, body) => {
    const response = await post("/api/alerts", body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: "malformed_json" });
  });

  it("202 for a valid alert carrying prototype-poisoning keys, which are dropped, not applied", async () => {
    const body = JSON.stringify(alert()).replace('"alertContext":', '"__proto__":{"polluted":true},"alertContext":');
    const response = await post("/api/alerts", body.replace('"schemaId"', '"constructor":{"prototype":{"polluted":true}},"schemaId"'));
    expect(response.statusCode).toBe(202);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("413 over the body limit", async () => {
    const big = alert();
    big.data.essentials.description = "x".repeat(70_000);
    const response = await post("/api/alerts", JSON.stringify(big));
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ error: "payload_too_large" });
  });

  it.each(["text/plain", "application/xml", "application/x-www-form-urlencoded"])("415 for %s", async (type) => {
    const response = await post("/api/alerts", JSON.stringify(alert()), { "content-type": type });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ error: "unsupported_media_type" });
  });

  it("415 for a compressed body", async () => {
    const response = await post("/api/alerts", JSON.stringify(alert()), { "content-encoding": "gzip" });
    expect(response.json()).toMatchObject({ error: "unsupported_content_encoding" });
    expect(response.statusCode).toBe(415);
  });

  it("422 naming the field for JSON that is not the common alert schema, checked strictly (nothing coerced)", async () => {
    const legacy = { schemaId: "Microsoft.Insights/activityLogs", data: { status: "Activated", context: {} } };
    const response = await post("/api/alerts", JSON.stringify(legacy));
    expect(response.statusCode).toBe(422);
    expect(response.json()).toEqual({ error: "not_common_alert_schema", message: 'not a common alert schema notification: schemaId must be "azureMonitorCommonAlertSchema"' });
    const noCondition = alert();
    delete noCondition.data.essentials.monitorCondition;
    expect((await post("/api/alerts", JSON.stringify(noCondition))).json().message).toContain("data.essentials.monitorCondition is required");
    // A query-string validator would coerce 123 into "123"; the alert body's must not.
    const numbered = alert();
    numbered.data.essentials.alertId = 123;
    expect((await post("/api/alerts", JSON.stringify(numbered))).statusCode).toBe(422);
  });

  it.each([
    ["no token", undefined, 401, "invalid_token"],
    ["a reader's token", "Bearer reader", 403, "insufficient_scope"],
    ["an expired token", "Bearer expired", 401, "invalid_token"],
    ["signing keys that cannot be fetched", "Bearer keys-down", 503, "signing_keys_unavailable"],
  ])("%s: %i %s, before the body is read", async (_what, authorization, status, code) => {
    const intake = stubIntake();
    const app = await testApp({ intake });
    const response = await app.inject({ method: "POST", url: "/api/alerts", headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) }, payload: "not even JSON" });
    expect({ status: response.statusCode, error: response.json().error }).toEqual({ status, error: code });
    expect(intake.submitted).toEqual([]);
  });

  it.each([
    ["a full intake queue", () => Promise.reject(new QueueFullError("10000 notifications waiting")), "intake_busy"],
    ["a store that is down", () => Promise.reject(new StoreUnavailableError(new Error("connect ECONNREFUSED"))), "store_unavailable"],
  ])("503 with Retry-After for %s: nothing stored, Azure retries", async (_what, answer, code) => {
    const response = await post("/api/alerts", JSON.stringify(alert()), {}, { intake: stubIntake(answer) });
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("10");
    expect(response.json()).toMatchObject({ error: code });
  });
});

describe("the read and operator API", () => {
  it.each([
    ["GET", "/api/incidents"],
    ["GET", "/api/incidents/00000000-0000-4000-8000-000000000001"],
    ["GET", "/api/cis"],
    ["GET", "/api/deliveries"],
    ["POST", "/api/routing/explain"],
  ] as const)("%s %s takes a reader's token, and no other", async (method, url) => {
    const app = await testApp();
    const as = async (token?: string) =>
      (await app.inject({ method, url, headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, payload: method === "POST" ? JSON.stringify(alert()) : undefined })).statusCode;
    expect(await as()).toBe(401);
    expect(await as("webhook")).toBe(403);
    expect(await as("operator")).toBe(403);
    expect([401, 403]).not.toContain(await as("reader"));
  });

  it.each([
    ["POST", "/api/incidents/00000000-0000-4000-8000-000000000001/resolve"],
    ["POST", "/api/incidents/00000000-0000-4000-8000-000000000001/acknowledge"],
    ["POST", "/api/deliveries/1/retry"],
  ] as const)("%s %s takes an operator's token, and a reader's is 403", async (method, url) => {
    const app = await testApp();
    const as = async (token?: string) => (await app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {} })).statusCode;
    expect(await as()).toBe(401);
    expect(await as("reader")).toBe(403);
    expect(await as("operator")).toBe(404);
  });

  it.each([
    ["/api/incidents?limit=0", "invalid_request"],
    ["/api/incidents?limit=201", "invalid_request"],
    ["/api/incidents?state=burning", "invalid_request"],
    ["/api/incidents?severity=Sev9", "invalid_request"],
    ["/api/incidents?from=yesterday", "invalid_request"],
    ["/api/incidents?from=0000-12-31T23:00:00Z", "invalid_request"],
    ["/api/incidents?cursor=%%%", "invalid_cursor"],
    [`/api/incidents?cursor=${Buffer.from(JSON.stringify({ firedAt: "1", id: "00000000-0000-4000-8000-000000000001" })).toString("base64url")}`, "invalid_cursor"],
    [`/api/incidents?cursor=${Buffer.from(JSON.stringify({ firedAt: "2026-01-01T00:00:00.000Z", id: "x'; DROP TABLE incidents" })).toString("base64url")}`, "invalid_cursor"],
    ["/api/cis?bound=perhaps", "invalid_request"],
    [`/api/cis?cursor=${Buffer.from('"not-a-uuid"').toString("base64url")}`, "invalid_cursor"],
    ["/api/deliveries?status=lost", "invalid_request"],
    ["/api/deliveries?incidentId=42", "invalid_request"],
    [`/api/deliveries?cursor=${Buffer.from('"99999999999999999999"').toString("base64url")}`, "invalid_cursor"],
  ])("400 for %s, and the store is never asked", async (url, code) => {
    const { db, queries } = stubDatabase();
    const app = await testApp({ db });
    const response = await app.inject({ method: "GET", url, headers: { authorization: "Bearer reader" } });
    expect({ status: response.statusCode, error: response.json().error }).toEqual({ status: 400, error: code });
    expect(queries).toEqual([]);
  });

  it("hands the store times in UTC, whatever offset the caller gave", async () => {
    const { db, queries } = stubDatabase();
    const app = await testApp({ db });
    const response = await app.inject({ method: "GET", url: `/api/incidents?from=${encodeURIComponent("2026-03-01T10:00:00+20:00")}&to=${encodeURIComponent("2026-03-01T10:00:00-23:59")}`, headers: { authorization: "Bearer reader" } });
    expect(response.json()).toEqual({ items: [], nextCursor: null });
    expect(queries[0]!.params).toEqual(expect.arrayContaining(["2026-02-28T14:00:00.000Z", "2026-03-02T09:59:00.000Z"]));
  });

  it("503 with Retry-After when the store is down", async () => {
    const { db } = stubDatabase(() => {
      throw new StoreUnavailableError(new Error("connect ECONNREFUSED"));
    });
    const app = await testApp({ db });
    const response = await app.inject({ method: "GET", url: "/api/incidents", headers: { authorization: "Bearer reader" } });
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("10");
  });

  it("POST /api/routing/explain: 400 for a time it cannot hold, 422 for a body that is not an alert", async () => {
    const app = await testApp();
    const explain = (query: string, body: unknown) => app.inject({ method: "POST", url: `/api/routing/explain${query}`, headers: { authorization: "Bearer reader", "content-type": "application/json" }, payload: JSON.stringify(body) });
    expect((await explain("?at=soon", alert())).json()).toEqual({ error: "invalid_request", message: "querystring/at must be a date-time" });
    expect((await explain("", { schemaId: "other" })).statusCode).toBe(422);
    expect((await explain(`?at=${encodeURIComponent("2026-01-01T00:00:00+05:00")}`, alert())).json()).toMatchObject({ admitted: true });
  });
});

describe("POST /api/connectors/{name}/events (ITSM events)", () => {
  const event = { eventId: "e1", ticket: "INC0010001", state: "closed", by: "jane", at: "2026-12-01T10:00:00Z" };
  const sync = new Map([["snow", { name: "snow", syncClients: ["sync-app"], tickets: { tool: "ServiceNow", readTicket: async () => null, changedTickets: async () => ({ tickets: [], cursor: { changedAt: "", seen: 0 }, more: false }) } }]]);
  const send = async (token: string | null, body: unknown = event, name = "snow") => {
    const { db, queries } = stubDatabase();
    const app = await testApp({ db, sync });
    const response = await app.inject({ method: "POST", url: `/api/connectors/${name}/events`, headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, payload: JSON.stringify(body) });
    return { status: response.statusCode, error: response.json().error, queries };
  };

  it("takes only a sync client's token: not the webhook's, a reader's or an operator's", async () => {
    expect((await send(null)).status).toBe(401);
    for (const token of ["webhook", "reader", "operator"]) expect((await send(token)).status).toBe(403);
  });

  it("403 for a connector the client is not a sync client of, the same as for one that does not exist", async () => {
    expect(await send("sync", event, "helix")).toMatchObject({ status: 403, error: "insufficient_scope", queries: [] });
  });

  it("404 for a ticket the connector did not create", async () => {
    expect(await send("sync")).toMatchObject({ status: 404, error: "not_found" });
  });

  it.each([
    [{ ...event, state: "deleted" }],
    [{ ...event, eventId: "" }],
    [{ ...event, at: "yesterday" }],
    [{ ...event, ticket: "x".repeat(101) }],
    [{ eventId: "e1", state: "closed" }],
  ])("400 for an event that is not one, and the store is never asked: %j", async (body) => {
    expect(await send("sync", body)).toMatchObject({ status: 400, error: "invalid_request", queries: [] });
  });
});

describe("anything else", () => {
  it("serves /docs' sign-in redirect page where the stack registers it (contract.ts)", async () => {
    const response = await (await testApp()).inject({ method: "GET", url: DOCS_REDIRECT_PATH });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/html/);
  });

  it("404 for unknown routes, in the same error shape", async () => {
    const response = await (await testApp()).inject({ method: "GET", url: "/nope" });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: "not_found", message: "GET /nope not found" });
  });

  it("health and readiness say what is missing", async () => {
    const app = await testApp({ keys: { loaded: false }, store: () => ({ state: "opening", detail: "the database is still opening" }) });
    expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    const ready = await app.inject({ method: "GET", url: "/readyz" });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: "not_ready", database: "unavailable: the database is still opening", signingKeys: "unavailable: not fetched yet (see the log for why)" });
  });
});
