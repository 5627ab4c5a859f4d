/**
 * Named statements (store/database.ts QueryOptions.name) on both stores: the server keeps them
 * parsed, and they answer exactly what the same statement unnamed answers. On the embedded store the
 * names are the receiver's own (store/pglite-database.ts: PGlite's `query` has none), built from
 * PGlite's protocol serializer and result parser, so what is checked here is that conversion.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PLAN_LIFETIME, StoreQueryError, type Database, type Transaction } from "../../../receiver/src/store/database.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

// Every kind of value the intake's statements send and read back: arrays, JSON, uuids, times, nulls.
const ECHO = `SELECT $1::text[] AS keys, $2::json AS doc, $3::uuid AS id, to_json($4::timestamptz)#>>'{}' AS at, $5::boolean AS flag,
  $6::bigint AS n, $7::int AS small, $8::text AS nothing, $9::jsonb AS tree, ARRAY[$3::uuid] AS ids, 'é ✓ "quoted"' AS literal`;
const ECHO_VALUES = [
  ["a", "b,c", 'd"e', "f\\g", ""],
  JSON.stringify({ nested: [1, "two", null, { three: true }], text: "multi-byte ✓ and \"quotes\"" }),
  "0193a0b2-7c3e-7f00-8a1b-2c3d4e5f6a7b",
  "2026-12-07T08:00:00.123Z",
  true,
  "9007199254740993",
  42,
  null,
  { tree: { leaf: [1, 2, 3] } },
];

const preparedTexts = async (tx: Transaction, sql: string) =>
  (await tx.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1", [sql])).rows[0]!.n;

describe.each(STORE_KINDS)("named statements on $name", (kind) => {
  let store: OpenStore;
  let db: Database;
  beforeAll(async () => {
    store = await kind.open();
    db = store.db;
    await db.exec("CREATE TABLE named_probe (k text PRIMARY KEY, v jsonb NOT NULL)");
  });
  afterAll(() => store?.close());

  it("answer what the same statement answers unnamed, every time", async () => {
    const answers = await db.transaction(
      async (tx) => {
        const unnamed = await tx.query(ECHO, ECHO_VALUES);
        const named = [];
        for (let i = 0; i < 7; i++) named.push(await tx.query(ECHO, ECHO_VALUES, { name: "probe-echo" }));
        return { unnamed, named };
      },
      { pipelined: true },
    );
    expect(answers.unnamed.rows).toHaveLength(1);
    expect(answers.unnamed.rows[0]).toMatchObject({ keys: ECHO_VALUES[0], id: ECHO_VALUES[2], at: "2026-12-07T08:00:00.123+00:00", flag: true, small: 42, nothing: null });
    for (const named of answers.named) expect(named).toEqual(answers.unnamed);
  });

  it("are parsed once and kept by the session", async () => {
    const sql = "SELECT k, v FROM named_probe WHERE k = ANY($1::text[]) ORDER BY k";
    const kept = await db.transaction(
      async (tx) => {
        for (let i = 0; i < 3; i++) await tx.query(sql, [["x"]], { name: "probe-select" });
        return preparedTexts(tx, sql);
      },
      { pipelined: true },
    );
    expect(kept).toBe(1);
  });

  it("run in the order they were issued with the transaction's other statements, named or not", async () => {
    const insert = "INSERT INTO named_probe (k, v) SELECT k, $2::jsonb FROM unnest($1::text[]) AS k";
    const count = "SELECT count(*)::int AS n FROM named_probe WHERE k LIKE 'order-%'";
    const seen = await db.transaction(
      async (tx) => {
        tx.later(insert, [["order-1", "order-2"], JSON.stringify({ by: "named" })], { name: "probe-insert" });
        const afterNamed = tx.query<{ n: number }>(count);
        tx.later(insert, [["order-3"], JSON.stringify({ by: "unnamed" })]);
        const afterBoth = tx.query<{ n: number }>(count, [], { name: "probe-count" });
        return [(await afterNamed).rows[0]!.n, (await afterBoth).rows[0]!.n];
      },
      { pipelined: true },
    );
    expect(seen).toEqual([2, 3]);
  });

  it("a refused named statement fails its transaction and changes nothing; the statement runs again after it", async () => {
    const insert = "INSERT INTO named_probe (k, v) VALUES ($1, $2::jsonb)";
    await db.transaction(async (tx) => void (await tx.query(insert, ["unique-1", "{}"], { name: "probe-insert-one" })), { pipelined: true });
    const refused = db.transaction(
      async (tx) => {
        await tx.query(insert, ["unique-2", "{}"], { name: "probe-insert-one" });
        await tx.query(insert, ["unique-1", "{}"], { name: "probe-insert-one" });
      },
      { pipelined: true },
    );
    await expect(refused).rejects.toBeInstanceOf(StoreQueryError);
    await expect(refused).rejects.toMatchObject({ sqlState: "23505", kind: "conflict" });
    expect((await db.query("SELECT k FROM named_probe WHERE k LIKE 'unique-%' ORDER BY k")).rows).toEqual([{ k: "unique-1" }]);
    await db.transaction(async (tx) => void (await tx.query(insert, ["unique-2", "{}"], { name: "probe-insert-one" })), { pipelined: true });
    expect((await db.query("SELECT k FROM named_probe WHERE k LIKE 'unique-%' ORDER BY k")).rows).toEqual([{ k: "unique-1" }, { k: "unique-2" }]);
  });

  it("a named statement the server cannot parse is refused as such, and the next transaction runs", async () => {
    const broken = db.transaction(async (tx) => tx.query("SELECT FROM WHERE named_probe", [], { name: "probe-broken" }), { pipelined: true });
    await expect(broken).rejects.toMatchObject({ sqlState: "42601", kind: "rejected" });
    expect(await db.transaction(async (tx) => (await tx.query("SELECT 1 AS one", [], { name: "probe-one" })).rows, { pipelined: true })).toEqual([{ one: 1 }]);
  });

  it("run from a generic plan made for the table as it is, kept for PLAN_LIFETIME's executions, then made again", async () => {
    // Planning costs more than running these statements (store/database.ts PLAN_LIFETIME); a plan
    // made while a table held one row must not scan it once it holds thousands.
    await db.exec("CREATE TABLE plan_probe (k text PRIMARY KEY, v text NOT NULL); INSERT INTO plan_probe VALUES ('k-0', 'v-0'); ANALYZE plan_probe");
    const probe = planProbe(db, "SELECT v FROM plan_probe WHERE k = $1", "probe-lifetime");
    // A plan made now, whatever the other tests ran: PLAN_LIFETIME.ms has passed.
    expect(await later(PLAN_LIFETIME.ms, () => probe.run())).toEqual({ answers: ["v-0"], scan: "Seq Scan" });
    await db.exec("INSERT INTO plan_probe SELECT 'k-' || g, 'v-' || g FROM generate_series(1, 20000) g");
    // Kept for its lifetime: the plan made on one row still scans the grown table...
    const kept: string[] = [];
    for (let n = 1; n < PLAN_LIFETIME.executions; n += 1) kept.push((await probe.run()).scan);
    expect(new Set(kept)).toEqual(new Set(["Seq Scan"]));
    // ...then it is made again, for 20,001 rows.
    expect(await probe.run()).toEqual({ answers: ["v-0"], scan: "Index Scan" });
  });

  it("run from a plan made again once PLAN_LIFETIME.ms has passed, however few its executions", async () => {
    await db.exec("CREATE TABLE plan_clock (k text PRIMARY KEY, v text NOT NULL); INSERT INTO plan_clock VALUES ('k-0', 'v-0'); ANALYZE plan_clock");
    const probe = planProbe(db, "SELECT v FROM plan_clock WHERE k = $1", "probe-clock");
    expect((await later(PLAN_LIFETIME.ms, () => probe.run())).scan).toBe("Seq Scan");
    await db.exec("INSERT INTO plan_clock SELECT 'k-' || g, 'v-' || g FROM generate_series(1, 20000) g");
    expect((await probe.run()).scan).toBe("Seq Scan");
    expect(await later(2 * PLAN_LIFETIME.ms, () => probe.run())).toEqual({ answers: ["v-0"], scan: "Index Scan" });
  });
});

/** Runs `work` with performance.now() `ms` later than now (PLAN_LIFETIME's clock). */
async function later<T>(ms: number, work: () => Promise<T>): Promise<T> {
  const at = performance.now() + ms;
  const clock = vi.spyOn(performance, "now").mockImplementation(() => at);
  try {
    return await work();
  } finally {
    clock.mockRestore();
  }
}

/**
 * A named statement run once per transaction on the connection the intake uses, with the plan it
 * ran from (EXPLAIN EXECUTE of the server's own prepared statement: on PostgreSQL the name given,
 * on the embedded store the receiver's se_N).
 */
function planProbe(db: Database, sql: string, name: string) {
  return {
    run: () =>
      db.transaction(
        async (tx) => {
          const answers = (await tx.query<{ v: string }>(sql, ["k-0"], { name })).rows.map((r) => r.v);
          const server = (await tx.query<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE statement = $1", [sql])).rows[0]!.name;
          const explained = Object.values((await tx.query<Record<string, unknown>>(`EXPLAIN (FORMAT JSON) EXECUTE "${server}"('k-0')`)).rows[0]!)[0];
          const plan = (typeof explained === "string" ? JSON.parse(explained) : explained) as Array<{ Plan: { "Node Type": string } }>;
          return { answers, scan: plan[0]!.Plan["Node Type"] };
        },
        { pipelined: true },
      ),
  };
}
