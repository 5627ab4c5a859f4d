/**
 * The notification log behind POST /api/alerts, against both stores: stored once, stored before
 * the 2xx, and 503 (never 2xx) when the database fails at any point of the request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres } from "../../../receiver/src/store/postgres-database.ts";
import { startReceiver } from "../../../receiver/src/receiver.ts";
import { migrate } from "../../../receiver/src/store/migrate.ts";
import { fixture, wrapContext } from "../../support/fixtures.ts";
import { startTestStack, type TestStack } from "../../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";
import { adminQuery } from "../../support/postgres.ts";

describe.each(STORE_KINDS)("intake on $name", (kind) => {
  let store: OpenStore;
  let stack: TestStack;

  beforeAll(async () => {
    store = await kind.open();
    stack = await startTestStack({ db: store.db });
  });
  afterAll(async () => {
    await stack?.close();
    await store?.close();
  });

  async function stored(alertId: string) {
    const { rows } = await store.db.query<{ raw_payload: string; caller_app_id: string; caller_tenant_id: string; caller_object_id: string; token_version: string; monitor_condition: string }>(
      "SELECT raw_payload, caller_app_id, caller_tenant_id, caller_object_id, token_version, monitor_condition FROM notifications WHERE alert_id = $1",
      [alertId],
    );
    return rows;
  }

  it("migrations are idempotent", async () => {
    expect(await migrate(store.db)).toEqual([]);
  });

  it("stores the raw payload and the caller's claims before answering 202", async () => {
    const body = wrapContext("metric-static.json");
    const raw = JSON.stringify(body, null, 2);
    const response = await stack.postAlert(raw);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ status: "accepted", duplicate: false });
    expect(await stored(body.data.essentials.alertId)).toEqual([
      {
        raw_payload: raw,
        caller_app_id: "461e8683-5575-4561-ac7f-899cc907d62a",
        caller_tenant_id: stack.issuer.tenantId,
        caller_object_id: "0e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b",
        token_version: "1.0",
        monitor_condition: "Fired",
      },
    ]);
  });

  it("stores the same delivery posted 20 times concurrently once, and acknowledges all 20", async () => {
    const body = wrapContext("log-alerts-v2.json");
    const responses = await Promise.all(Array.from({ length: 20 }, () => stack.postAlert(body)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(202));
    const answers = await Promise.all(responses.map((r) => r.json() as Promise<{ notificationId: string; duplicate: boolean }>));
    expect(answers.filter((a) => !a.duplicate)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.notificationId)).size).toBe(1);
    expect(await stored(body.data.essentials.alertId)).toHaveLength(1);
  });

  it("treats the same content with other whitespace or key order as the same delivery", async () => {
    const body = wrapContext("prometheus.json");
    expect((await stack.postAlert(JSON.stringify(body))).status).toBe(202);
    const reordered = { data: { customProperties: null, alertContext: body.data.alertContext, essentials: body.data.essentials }, schemaId: body.schemaId };
    const again = await stack.postAlert(JSON.stringify(reordered, null, 4));
    expect(await again.json()).toMatchObject({ duplicate: true });
    expect(await stored(body.data.essentials.alertId)).toHaveLength(1);
  });

  it("stores Fired and Resolved of one alert as two notifications", async () => {
    const fired = fixture("metric-static-fired.json");
    fired.data.essentials.alertId += `-${kind.name}`;
    const resolved = structuredClone(fired);
    resolved.data.essentials.monitorCondition = "Resolved";
    resolved.data.essentials.resolvedDateTime = "2025-04-15T18:30:00.000Z";
    expect((await stack.postAlert(resolved)).status).toBe(202);
    expect((await stack.postAlert(fired)).status).toBe(202);
    expect((await stored(fired.data.essentials.alertId)).map((r) => r.monitor_condition).sort()).toEqual(["Fired", "Resolved"]);
  });

  it("answers 503 with Retry-After and stores nothing when the commit fails (disk full), then recovers", async () => {
    await store.db.exec(`
      CREATE FUNCTION fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$;
      CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON notifications DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_commit();
    `);
    const body = wrapContext("activitylog-policy.json");
    try {
      const response = await stack.postAlert(body);
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(await response.json()).toMatchObject({ error: "store_unavailable" });
      expect(await stored(body.data.essentials.alertId)).toEqual([]);
      const text = await (await fetch(`${stack.receiver.metricsUrl}/metrics`)).text();
      expect(text).toMatch(/secure_export_notifications_total\{outcome="rejected",reason="store_unavailable"\} [1-9]/);
      expect(text).toMatch(/secure_export_database_errors_total [1-9]/);
    } finally {
      await store.db.exec("DROP TRIGGER fail_at_commit ON notifications; DROP FUNCTION fail_commit();");
    }
    expect((await stack.postAlert(body)).status).toBe(202);
    expect(await stored(body.data.essentials.alertId)).toHaveLength(1);
  });

  it("counts accepted and duplicate notifications in /metrics", async () => {
    const count = async (outcome: string) => {
      const text = await (await fetch(`${stack.receiver.metricsUrl}/metrics`)).text();
      return Number(new RegExp(`secure_export_notifications_total\\{outcome="${outcome}",reason="stored"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    const [accepted, duplicate] = [await count("accepted"), await count("duplicate")];
    const body = wrapContext("activitylog-policy.json");
    expect((await stack.postAlert(body)).status).toBe(202);
    expect((await stack.postAlert(body)).status).toBe(202);
    expect(await count("accepted")).toBe(accepted + 1);
    expect(await count("duplicate")).toBe(duplicate + 1);
  });
});

describe("PostgreSQL failing in the middle of a request", () => {
  let store: OpenStore;
  let stack: TestStack;

  beforeAll(async () => {
    store = await STORE_KINDS.find((k) => k.name === "postgres")!.open();
    stack = await startTestStack({ db: store.db });
  });
  afterAll(async () => {
    await stack?.close();
    await store?.close();
  });

  it("answers 503 when its connection is killed mid-transaction, and nothing is stored", async () => {
    const url = store.postgres!.url;
    await adminQuery(url, `
      CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(2); RETURN NEW; END $$;
      CREATE TRIGGER slow_insert BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION slow_insert();
    `);
    const body = wrapContext("activitylog-security.json");
    const pending = stack.postAlert(body);
    // Wait until the insert is inside its transaction, then kill that backend.
    for (let i = 0; i < 100; i += 1) {
      const { rowCount } = await adminQuery(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%INSERT INTO notifications%' AND pid <> pg_backend_pid()",
      );
      if (rowCount) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const response = await pending;
    expect(response.status).toBe(503);
    await adminQuery(url, "DROP TRIGGER slow_insert ON notifications; DROP FUNCTION slow_insert();");
    expect((await adminQuery(url, "SELECT 1 FROM notifications WHERE alert_id = $1", [body.data.essentials.alertId])).rowCount).toBe(0);

    // The pool replaces the dead connection: the retry Azure sends is stored.
    expect((await stack.postAlert(body)).status).toBe(202);
  });

  it("answers 503 while the server is unreachable, and readiness says so", async () => {
    const unreachable = openPostgres({ connectionString: "postgres://postgres@127.0.0.1:1/none" });
    const receiver = await startReceiver(stack.config, { db: unreachable });
    try {
      const response = await fetch(`${receiver.url}/api/alerts`, {
        method: "POST",
        headers: { authorization: `Bearer ${await stack.issuer.mint()}`, "content-type": "application/json" },
        body: JSON.stringify(wrapContext("metric-static.json")),
      });
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
      const ready = await fetch(`${receiver.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ database: expect.stringMatching(/^unavailable: .*ECONNREFUSED/), signingKeys: "ok" });
    } finally {
      await receiver.close();
      await unreachable.close();
    }
  });
});

describe("the embedded store closed under the receiver", () => {
  it("answers 503 rather than acknowledging", async () => {
    const store = await STORE_KINDS.find((k) => k.name === "pglite")!.open();
    const stack = await startTestStack({ db: store.db });
    try {
      await store.db.close();
      const response = await stack.postAlert(wrapContext("metric-static.json"));
      expect(response.status).toBe(503);
    } finally {
      await stack.close();
    }
  });
});
