/** `GET /api/status` over HTTP (routes/status.ts): who may call it, its shape, and a store that is down — on stand-ins (test/support/app.ts). */
import { describe, expect, it } from "vitest";
import { RECEIVER_VERSION } from "../../../receiver/src/http/routes/status.ts";
import { noRoutingRules } from "../../../receiver/src/routing/load-rules.ts";
import { stubDatabase, testApp } from "../../support/app.ts";

const get = async (token: string | null, overrides: Parameters<typeof testApp>[0] = {}) => {
  const app = await testApp(overrides);
  return app.inject({ method: "GET", url: "/api/status", headers: token ? { authorization: `Bearer ${token}` } : {} });
};

const connectors = noRoutingRules([{ kind: "servicenow", auth: { type: "basic", username: "u", password: "p" } } as never]);

describe("GET /api/status", () => {
  it("401 without a token, 403 with a token without the reader role, in the one error shape", async () => {
    const none = await get(null);
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: "invalid_token" });
    const webhook = await get("webhook");
    expect(webhook.statusCode).toBe(403);
    expect(webhook.json()).toMatchObject({ error: "insufficient_scope" });
  });

  it("200 for a reader: version, store, each connector from the outbox, heartbeat, credentials, rules", async () => {
    const { db } = stubDatabase((sql) => {
      if (sql.includes("FROM unnest")) {
        return [{ connector: "default", pending: 1, dead: 0, last_success_at: "2026-12-06T10:00:00Z", last_failure_at: "2026-12-06T11:00:00Z", last_error: "POST /api/now/table/incident answered 401: User Not Authenticated: Required to provide Auth information" }];
      }
      return [];
    });
    const response = await get("reader", {
      db,
      routing: connectors,
      status: { storeKind: "postgresql", credentials: { watched: [{ connector: "default", credential: "password", expiresAt: "2020-01-01T00:00:00.000Z" }], warnDays: 14 }, checks: new Map(), heartbeat: null },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      version: RECEIVER_VERSION,
      healthy: false,
      store: { kind: "postgresql", reachable: true, detail: null },
      heartbeat: { enabled: false },
      credentials: { warnDays: 14, items: [{ connector: "default", credential: "password", state: "expired" }] },
      rules: { inEffect: false, admissionRules: 0, routes: 0, maintenanceWindows: 0, noiseRules: 0, stormGuards: 0, silencesInForce: 0 },
    });
    expect(body.connectors).toEqual([
      {
        name: "default",
        kind: "servicenow",
        state: "unauthorized",
        detail: "unauthorized (401): User Not Authenticated: Required to provide Auth information, check the credentials",
        lastSuccessAt: "2026-12-06T10:00:00.000Z",
        lastFailureAt: "2026-12-06T11:00:00.000Z",
        lastFailure: "POST /api/now/table/incident answered 401: User Not Authenticated: Required to provide Auth information",
        queueDepth: 1,
        deadLetters: 0,
        unauthorized: "User Not Authenticated: Required to provide Auth information",
      },
    ]);
    expect(RECEIVER_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("still answers 200 when the store fails, saying so, with what it cannot know left null", async () => {
    const { db } = stubDatabase(() => {
      throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
    });
    const response = await get("reader", { db, routing: connectors });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      healthy: false,
      problems: ["store: connect ECONNREFUSED 127.0.0.1:5432"],
      store: { reachable: false, detail: "connect ECONNREFUSED 127.0.0.1:5432" },
      connectors: [{ name: "default", state: "unknown", queueDepth: null }],
      rules: { silencesInForce: null },
    });
  });

  it("shows the heartbeat as its reader gives it", async () => {
    const heartbeat = { enabled: true as const, known: true as const, lastSentAt: "2026-12-06T11:45:00.000Z", lastReceivedAt: "2026-12-06T11:45:03.000Z", lastSendError: null, verdict: "Succeeded", missingSince: null, healthy: true };
    const response = await get("reader", { status: { storeKind: "embedded", credentials: { watched: [], warnDays: 14 }, checks: new Map(), heartbeat: async () => heartbeat } });
    expect(response.json()).toMatchObject({ heartbeat, store: { kind: "embedded" }, healthy: true });
  });

  it("says the heartbeat is unknown, not off, when the store is down or its record cannot be read", async () => {
    const status = (heartbeat: () => Promise<never>) => ({ storeKind: "postgresql" as const, credentials: { watched: [], warnDays: 14 }, checks: new Map(), heartbeat });
    const refused = stubDatabase(() => {
      throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
    });
    let read = false;
    const down = await get("reader", { db: refused.db, status: status(async () => ((read = true), Promise.reject(new Error("not asked")))) });
    expect(down.json()).toMatchObject({ healthy: false, heartbeat: { enabled: true, known: false, detail: "the store cannot be read" }, problems: ["store: connect ECONNREFUSED 127.0.0.1:5432"] });
    expect(read).toBe(false);
    const failing = await get("reader", { status: status(async () => Promise.reject(new Error("relation \"heartbeats\" does not exist"))) });
    expect(failing.json()).toMatchObject({ healthy: false, heartbeat: { enabled: true, known: false, detail: 'relation "heartbeats" does not exist' }, problems: ['heartbeat: unknown (relation "heartbeats" does not exist)'] });
  });

  it("does not query a store that is still opening", async () => {
    const { db, queries } = stubDatabase();
    const response = await get("reader", { db, store: () => ({ state: "opening", detail: "migrating" }) });
    expect(response.json()).toMatchObject({ store: { reachable: false, detail: "migrating" } });
    expect(queries).toEqual([]);
  });

  it("is in the OpenAPI document, for readers", async () => {
    const app = await testApp();
    const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(doc.paths["/api/status"].get).toMatchObject({ tags: ["status"], security: [{ bearer: [] }] });
    expect(Object.keys(doc.paths["/api/status"].get.responses)).toEqual(expect.arrayContaining(["200", "401", "403"]));
  });
});
