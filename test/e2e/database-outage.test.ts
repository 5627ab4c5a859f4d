/**
 * PostgreSQL stops under load: answers turn to 503 with Retry-After, nothing acknowledged is lost,
 * and the receiver recovers by itself when the database is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../receiver/src/store/migrate.ts";
import { openPostgres } from "../../receiver/src/store/postgres-database.ts";
import type { Database } from "../../receiver/src/store/database.ts";
import { wrapContext } from "../support/fixtures.ts";
import { adminQuery, createTestDatabase, type TestDatabase } from "../support/postgres.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";

let database: TestDatabase;
let proxy: TcpProxy;
let db: Database;
let stack: TestStack;

beforeAll(async () => {
  database = await createTestDatabase();
  proxy = await startTcpProxy(Number(new URL(database.url).port || 5432));
  const viaProxy = new URL(database.url);
  viaProxy.port = String(proxy.port);
  db = openPostgres({ connectionString: viaProxy.toString() });
  await migrate(db);
  stack = await startTestStack({ db });
});
afterAll(async () => {
  await stack?.close();
  await db?.close();
  await proxy?.close();
  await database?.drop();
});

describe("PostgreSQL stopping under load", () => {
  it("answers 503 + Retry-After while it is gone, loses nothing acknowledged, and recovers by itself", async () => {
    const token = await stack.issuer.mint();
    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    let retryAfterMissing = 0;
    let phase: "before" | "down" | "after" = "before";
    const acceptedAfterRecovery: string[] = [];
    let stop = false;

    const worker = async () => {
      while (!stop) {
        const body = wrapContext("metric-static.json");
        const response = await stack.postAlert(body, { token });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 202) {
          acknowledged.push(body.data.essentials.alertId);
          if (phase === "after") acceptedAfterRecovery.push(body.data.essentials.alertId);
        } else if (response.status === 503 && !response.headers.get("retry-after")) {
          retryAfterMissing += 1;
        }
        await response.arrayBuffer();
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, worker));

    await new Promise((r) => setTimeout(r, 700));
    phase = "down";
    await proxy.down();
    await new Promise((r) => setTimeout(r, 1200));
    const readyWhileDown = await fetch(`${stack.receiver.url}/readyz`);
    await proxy.up();
    phase = "after";
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await load;

    expect([...statuses.keys()].sort()).toEqual([202, 503]);
    expect(retryAfterMissing).toBe(0);
    expect(readyWhileDown.status).toBe(503);
    expect(acceptedAfterRecovery.length).toBeGreaterThan(0);

    const { rows } = await adminQuery(database.url, "SELECT alert_id FROM incidents");
    const stored = new Set(rows.map((r) => r.alert_id as string));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  });
});
