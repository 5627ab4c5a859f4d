/**
 * Retention (store/retention.ts): what is older than RETENTION_DAYS goes in batches, what is younger
 * or still open stays, and a purge reads about what it deletes, not the tables: with nothing to do,
 * one batch of notifications and no incident, delivery or ITSM event (it runs every hour, on the
 * embedded store in the receiver's own thread).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Database, Queryable } from "../../../receiver/src/store/database.ts";
import { purgeExpired, type Purged } from "../../../receiver/src/store/retention.ts";
import { ranPlan } from "../../support/plans.ts";
import { seedDeliveries, seedIncident } from "../../support/seed-rows.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

const DAYS = 30;

/** `count` notifications received `daysAgo` days ago, in arrival order after those already there. */
async function notifications(db: Database, prefix: string, count: number, daysAgo: number): Promise<void> {
  await db.query(
    `INSERT INTO notifications (dedup_key, alert_id, monitor_condition, monitoring_service, raw_payload, caller_tenant_id, caller_app_id, token_version, received_at)
     SELECT $1 || g, 'alert-' || $1 || g, 'Fired', 'Platform', '{}', 't', 'a', '1.0', now() - make_interval(days => $3) FROM generate_series(1, $2) g`,
    [prefix, count, daysAgo],
  );
}

/** `count` incidents of alerts `prefix`1…, resolved `daysAgo` days ago (open ones fired then), each with one timeline event. */
async function incidents(db: Database, prefix: string, count: number, state: "open" | "resolved", daysAgo: number): Promise<void> {
  await db.query(
    `WITH i AS (
       INSERT INTO incidents (alert_id, alert_key, state, title, monitoring_service, family, fired_at, resolved_at, last_at, last_rank, last_key)
       SELECT $1 || g, $1 || g, $3, 't', 'Platform', 'metric', now() - make_interval(days => $4 + 1), CASE WHEN $3 = 'resolved' THEN now() - make_interval(days => $4) END, 'x', 0, 'k'
       FROM generate_series(1, $2) g RETURNING id)
     INSERT INTO incident_events (incident_id, type, at, actor, detail) SELECT id, 'opened', now(), 'test', '{}' FROM i`,
    [prefix, count, state, daysAgo],
  );
}

/** `count` applied ITSM events of one connector, received `daysAgo` days ago. */
async function itsmEvents(db: Database, prefix: string, count: number, daysAgo: number): Promise<void> {
  await db.query(
    `INSERT INTO itsm_events (connector, event_id, state, outcome, received_at)
     SELECT 'servicenow', $1 || g, 'resolved', 'applied', now() - make_interval(days => $3) FROM generate_series(1, $2) g`,
    [prefix, count, daysAgo],
  );
}

const count = async (db: Database, sql: string, params: unknown[] = []) => Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${sql}`, params)).rows[0]!.n);


/** Each purge found by index, with what stays beside what has expired. */
interface PurgeCase {
  table: string;
  /** Its count in what the purge answers. */
  purged: keyof Purged;
  /** Stores `expired` rows older than the period, and `kept` rows that stay. */
  seed(db: Database, expired: number): Promise<void>;
  kept: number;
  /** Rows of the table a run with nothing to purge may read. */
  idleRead: number;
}

/** Seeds a table that expires by age alone: `expired` rows past the period, 20,000 from yesterday. */
const oldAndYoung =
  (fill: (db: Database, prefix: string, count: number, daysAgo: number) => Promise<void>) =>
  async (db: Database, expired: number): Promise<void> => {
    await fill(db, "old-", expired, DAYS + 10);
    await fill(db, "young-", 20_000, 1);
  };

const PURGES: PurgeCase[] = [
  {
    table: "notifications",
    purged: "notifications",
    // Notifications have no index by age: the oldest batch by id is read and filtered.
    idleRead: 1_000,
    kept: 20_000,
    seed: oldAndYoung(notifications),
  },
  {
    table: "incidents",
    purged: "incidents",
    // An hourly read of every incident: at a million of them, 1.1 GB and 551 ms of PostgreSQL's time (docs/performance.md).
    idleRead: 10,
    kept: 20_100,
    seed: async (db, expired) => {
      await incidents(db, "old-", expired, "resolved", DAYS + 10);
      await incidents(db, "young-", 20_000, "resolved", 1);
      await incidents(db, "open-", 100, "open", DAYS + 10);
    },
  },
  {
    table: "deliveries",
    purged: "deliveries",
    idleRead: 10,
    kept: 22_000,
    seed: async (db, expired) => {
      const id = await seedIncident(db, "with-deliveries", "open", DAYS + 5);
      await seedDeliveries(db, id, expired, "delivered", DAYS + 5);
      await seedDeliveries(db, id, 20_000, "delivered", 1);
      await seedDeliveries(db, id, 2_000, "dead", DAYS + 5);
    },
  },
  {
    table: "itsm_events",
    purged: "itsmEvents",
    idleRead: 10,
    kept: 20_000,
    seed: oldAndYoung(itsmEvents),
  },
];

describe.each(STORE_KINDS)("retention on $name", (kind) => {
  let store: OpenStore;
  beforeEach(async () => {
    store = await kind.open();
  });
  afterEach(async () => {
    await store.close();
  });

  it("purges the notifications older than the retention period, in batches, and keeps the younger ones", async () => {
    await notifications(store.db, "old-", 2_500, DAYS + 10);
    await notifications(store.db, "young-", 300, 1);
    const purged = await purgeExpired(store.db, DAYS);
    expect(purged?.notifications).toBe(2_500);
    expect(await count(store.db, "notifications")).toBe(300);
    expect(await count(store.db, "notifications WHERE dedup_key LIKE 'young-%'")).toBe(300);
  }, 60_000);

  it("purges incidents resolved before the retention period with their timeline, and keeps open and recently resolved ones", async () => {
    const gone = await seedIncident(store.db, "resolved-long-ago", "resolved", DAYS + 5);
    const recent = await seedIncident(store.db, "resolved-yesterday", "resolved", 1);
    const open = await seedIncident(store.db, "open-for-long", "open", DAYS + 5);
    const purged = await purgeExpired(store.db, DAYS);
    expect(purged?.incidents).toBe(1);
    expect(await count(store.db, "incidents WHERE id = $1", [gone])).toBe(0);
    expect(await count(store.db, "incident_events WHERE incident_id = $1", [gone])).toBe(0);
    for (const kept of [recent, open]) expect(await count(store.db, "incident_events WHERE incident_id = $1", [kept])).toBe(1);
  });

  it("purges deliveries delivered before the retention period, and keeps younger ones, dead letters and those still pending", async () => {
    const id = await seedIncident(store.db, "with-deliveries", "open", DAYS + 5);
    await seedDeliveries(store.db, id, 3, "delivered", DAYS + 5);
    await seedDeliveries(store.db, id, 2, "delivered", 1);
    await seedDeliveries(store.db, id, 4, "dead", DAYS + 5);
    await seedDeliveries(store.db, id, 5, "pending", DAYS + 5);
    const purged = await purgeExpired(store.db, DAYS);
    expect(purged?.deliveries).toBe(3);
    expect(await count(store.db, "deliveries WHERE status = 'delivered'")).toBe(2);
    expect(await count(store.db, "deliveries WHERE status = 'dead'")).toBe(4);
    expect(await count(store.db, "deliveries WHERE status = 'pending'")).toBe(5);
  });

  /** Each purge statement as it ran: the table it deletes from, the rows it deleted, and the rows it read of each table. */
  interface StatementRun {
    deletes: string;
    deleted: number;
    read: Map<string, number>;
  }

  /**
   * The store, with every purge statement run under EXPLAIN ANALYZE as sent (so it still deletes,
   * in its own transaction with its settings when it has one) and its plan kept.
   */
  function explaining(runs: StatementRun[]): Database {
    const explain = (db: Queryable): Queryable["query"] => async (sql, params, options) => {
      const deletes = /gone AS \(DELETE FROM (\w+)/.exec(sql)?.[1];
      if (!deletes) return db.query(sql, params, options);
      const { nodes, read } = await ranPlan(db, sql, params);
      // What the statement answers, from the run EXPLAIN ANALYZE made of it: the rows it deleted from its table.
      const deleted = nodes.find((node) => node["Node Type"] === "ModifyTable" && node["Relation Name"] === deletes)!["Actual Rows"] ?? 0;
      runs.push({ deletes, deleted, read });
      return { rows: [{ n: deleted }] } as never;
    };
    return {
      ...store.db,
      query: explain(store.db),
      transaction: (work, options) => store.db.transaction((tx) => work({ ...tx, query: explain(tx) }), options),
    };
  }

  /** Rows of `table` read by each statement that purges it. */
  const readsOf = (runs: readonly StatementRun[], table: string) => runs.filter((r) => r.deletes === table).map((r) => r.read.get(table) ?? 0);

  describe.each(PURGES)("the purge of $table", (purge) => {
    /** Rows of the table each of its purge statements reads, with `expired` rows past the period among those that stay. */
    async function rowsRead(expired: number): Promise<number[]> {
      await purge.seed(store.db, expired);
      const runs: StatementRun[] = [];
      const purged = await purgeExpired(explaining(runs), DAYS);
      expect(purged?.[purge.purged]).toBe(expired);
      expect(await count(store.db, purge.table)).toBe(purge.kept);
      return readsOf(runs, purge.table);
    }

    it("reads what a run with nothing to purge must, not the table", async () => {
      expect(await rowsRead(0)).toEqual([expect.toSatisfy((n: number) => n <= purge.idleRead)]);
    }, 60_000);

    it("reads about a batch per batch it deletes, not the table", async () => {
      const reads = await rowsRead(2_500);
      expect(reads).toHaveLength(3);
      // The batch is found, then each of its rows looked up to delete it: never every expired row, sorted, per batch.
      for (const read of reads) expect(read).toBeLessThanOrEqual(2_000);
    }, 60_000);
  });

  it("stops before its next statement when told to, and deletes nothing more", async () => {
    await notifications(store.db, "old-", 1_500, DAYS + 10);
    let asked = 0;
    // Told to stop after the first batch: the second batch of old notifications is never read.
    const purged = await purgeExpired(store.db, DAYS, { before: async () => (asked += 1) === 1 });
    expect(purged).toBeNull();
    expect(asked).toBe(2);
    expect(await count(store.db, "notifications")).toBe(500);
  });
});
