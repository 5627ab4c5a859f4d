/**
 * Retention (store/retention.ts): what is older than RETENTION_DAYS goes in batches, what is younger
 * or still open stays, and a purge with nothing to do reads one batch of notifications, not the
 * whole table (on the embedded store it runs in the receiver's own thread, every hour).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../../../receiver/src/store/database.ts";
import { purgeExpired } from "../../../receiver/src/store/retention.ts";
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

async function incident(db: Database, alertId: string, state: "open" | "resolved", daysAgo: number): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO incidents (alert_id, alert_key, state, title, monitoring_service, family, fired_at, resolved_at, last_at, last_rank, last_key)
     VALUES ($1, $1, $2, 't', 'Platform', 'metric', now() - make_interval(days => $3 + 1), CASE WHEN $2 = 'resolved' THEN now() - make_interval(days => $3) END, 'x', 0, 'k')
     RETURNING id::text AS id`,
    [alertId, state, daysAgo],
  );
  await db.query("INSERT INTO incident_events (incident_id, type, at, actor, detail) VALUES ($1, 'opened', now(), 'test', '{}')", [rows[0]!.id]);
  return rows[0]!.id;
}

const count = async (db: Database, sql: string, params: unknown[] = []) => Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${sql}`, params)).rows[0]!.n);

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
}
const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];

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
    const gone = await incident(store.db, "resolved-long-ago", "resolved", DAYS + 5);
    const recent = await incident(store.db, "resolved-yesterday", "resolved", 1);
    const open = await incident(store.db, "open-for-long", "open", DAYS + 5);
    const purged = await purgeExpired(store.db, DAYS);
    expect(purged?.incidents).toBe(1);
    expect(await count(store.db, "incidents WHERE id = $1", [gone])).toBe(0);
    expect(await count(store.db, "incident_events WHERE incident_id = $1", [gone])).toBe(0);
    for (const kept of [recent, open]) expect(await count(store.db, "incident_events WHERE incident_id = $1", [kept])).toBe(1);
  });

  /** Rows of `notifications` each purge statement reads (EXPLAIN ANALYZE of the statement as sent, run again). */
  async function notificationRowsRead(expired: number): Promise<number[]> {
    await notifications(store.db, "old-", expired, DAYS + 10);
    await notifications(store.db, "young-", 20_000, 1);
    const reads: number[] = [];
    const explaining: Database = {
      ...store.db,
      query: async (sql, params, options) => {
        if (!sql.includes("DELETE FROM notifications")) return store.db.query(sql, params, options);
        const { rows } = await store.db.query<Record<string, unknown>>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
        const plan = (Object.values(rows[0]!)[0] as Array<{ Plan: PlanNode }>)[0]!.Plan;
        reads.push(
          flatten(plan)
            .filter((node) => node["Node Type"].includes("Scan") && node["Relation Name"] === "notifications")
            .reduce((sum, node) => sum + ((node["Actual Rows"] ?? 0) + (node["Rows Removed by Filter"] ?? 0)) * (node["Actual Loops"] ?? 1), 0),
        );
        // What the statement answers, from the run EXPLAIN ANALYZE made of it: the rows it deleted.
        const deleted = flatten(plan).find((node) => node["Node Type"] === "ModifyTable")!["Actual Rows"] ?? 0;
        return { rows: [{ n: deleted }] } as never;
      },
    };
    const purged = await purgeExpired(explaining, DAYS);
    expect(purged?.notifications).toBe(expired);
    expect(await count(store.db, "notifications")).toBe(20_000);
    return reads;
  }

  it("reads one batch of notifications, not the table, when none has expired", async () => {
    expect(await notificationRowsRead(0)).toEqual([expect.toSatisfy((n: number) => n <= 1_000)]);
  }, 60_000);

  it("reads about a batch of notifications per batch it deletes, not the table", async () => {
    const reads = await notificationRowsRead(1_500);
    expect(reads).toHaveLength(2);
    // A batch is read, then each of its ids looked up to delete it.
    for (const read of reads) expect(read).toBeLessThanOrEqual(2_000);
  }, 60_000);

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
