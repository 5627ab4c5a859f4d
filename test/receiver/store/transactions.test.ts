/** A transaction's own settings (store/database.ts `settings`): in force inside it, gone after it, on both stores. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../receiver/src/store/database.ts";
import { openPostgres } from "../../../receiver/src/store/postgres-database.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

const show = async (db: Pick<Database, "query">, name: string) => Object.values((await db.query<Record<string, string>>(`SHOW ${name}`)).rows[0]!)[0];

describe.each(STORE_KINDS)("transaction settings on $name", (kind) => {
  let store: OpenStore;
  let db: Database;
  beforeAll(async () => {
    store = await kind.open();
    // One pooled connection on PostgreSQL: what the transaction set would still be there after it.
    db = store.postgres ? openPostgres({ connectionString: store.postgres.url, maxConnections: 2 }) : store.db;
  });
  afterAll(async () => {
    if (db !== store.db) await db.close();
    await store?.close();
  });

  it("are in force for the transaction's statements and gone after its commit or rollback", async () => {
    const settings = { enable_seqscan: "off", synchronous_commit: "off" };
    expect(await db.transaction(async (tx) => [await show(tx, "enable_seqscan"), await show(tx, "synchronous_commit")], { settings })).toEqual(["off", "off"]);
    expect([await show(db, "enable_seqscan"), await show(db, "synchronous_commit")]).toEqual(["on", "on"]);
    await expect(db.transaction(async (tx) => Promise.reject(new Error(`failed with ${await show(tx, "enable_seqscan")}`)), { settings })).rejects.toThrow("failed with off");
    expect(await show(db, "enable_seqscan")).toBe("on");
  });

  it("also travel with a pipelined transaction", async () => {
    expect(await db.transaction(async (tx) => show(tx, "enable_sort"), { pipelined: true, settings: { enable_sort: "off" } })).toBe("off");
    expect(await show(db, "enable_sort")).toBe("on");
  });

  it("refuse anything but a plain name and value, before the transaction starts", async () => {
    let ran = false;
    const attempt = db.transaction(
      async () => {
        ran = true;
      },
      { settings: { "enable_seqscan = off; DROP TABLE deliveries; --": "off" } },
    );
    await expect(attempt).rejects.toThrow("is not a plain name and value");
    await expect(db.transaction(async () => undefined, { settings: { search_path: "'x'" } })).rejects.toThrow("is not a plain name and value");
    await expect(db.transaction(async () => undefined, { pipelined: true, settings: { search_path: "'x'" } })).rejects.toThrow("is not a plain name and value");
    // Nothing was left open: the next transactions of either kind run.
    expect(await db.transaction(async (tx) => show(tx, "enable_sort"), { pipelined: true })).toBe("on");
    expect(ran).toBe(false);
    expect((await db.query("SELECT count(*)::int AS n FROM deliveries")).rows).toEqual([{ n: 0 }]);
  });
});
