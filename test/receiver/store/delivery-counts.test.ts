/**
 * The outbox's jobs per connector and state (store/delivery-queries.ts `countDeliveries`), which
 * every metrics scrape reads (`secure_export_outbox_jobs`): the jobs still to do, counted from those
 * jobs, not from every delivery the ledger keeps for RETENTION_DAYS — on the embedded store a scrape
 * runs in the receiver's own thread, between the intake's batches.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Queryable } from "../../../receiver/src/store/database.ts";
import { countDeliveries } from "../../../receiver/src/store/delivery-queries.ts";
import { ranPlan, type RanPlan } from "../../support/plans.ts";
import { seedDeliveries, seedIncident } from "../../support/seed-rows.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

describe.each(STORE_KINDS)("outbox job counts on $name", (kind) => {
  let store: OpenStore;
  beforeEach(async () => {
    store = await kind.open();
  });
  afterEach(async () => {
    await store.close();
  });

  const sorted = (rows: Array<{ connector: string; status: string; count: number }>) => [...rows].sort((a, b) => `${a.connector} ${a.status}`.localeCompare(`${b.connector} ${b.status}`));

  it("counts pending and dead-lettered jobs per connector, and no delivered one", async () => {
    const id = await seedIncident(store.db, "counted", "open", 0);
    await seedDeliveries(store.db, id, 3, "pending", 0, "snow");
    await seedDeliveries(store.db, id, 2, "dead", 1, "snow");
    await seedDeliveries(store.db, id, 1, "pending", 0, "helix");
    await seedDeliveries(store.db, id, 5, "delivered", 1, "snow");
    await seedDeliveries(store.db, id, 4, "delivered", 1, "helix");
    expect(sorted(await countDeliveries(store.db))).toEqual([
      { connector: "helix", status: "pending", count: 1 },
      { connector: "snow", status: "dead", count: 2 },
      { connector: "snow", status: "pending", count: 3 },
    ]);
  });

  it("reads the jobs still to do, not every delivery kept", async () => {
    const id = await seedIncident(store.db, "counted", "open", 0);
    await seedDeliveries(store.db, id, 20_000, "delivered", 1, "snow");
    await seedDeliveries(store.db, id, 5, "pending", 0, "snow");
    await seedDeliveries(store.db, id, 3, "dead", 1, "snow");
    // Each statement the count sends, run again under EXPLAIN ANALYZE (it only reads).
    const plans: RanPlan[] = [];
    const planned: Queryable = {
      ...store.db,
      query: async (sql, params, options) => {
        plans.push(await ranPlan(store.db, sql, params));
        return store.db.query(sql, params, options);
      },
    };
    // Without statistics (a table grown since its last ANALYZE) and with them.
    for (const analyzed of [false, true]) {
      if (analyzed) await store.db.query("ANALYZE deliveries");
      plans.length = 0;
      expect(sorted(await countDeliveries(planned))).toEqual([
        { connector: "snow", status: "dead", count: 3 },
        { connector: "snow", status: "pending", count: 5 },
      ]);
      const read = plans.reduce((sum, plan) => sum + (plan.read.get("deliveries") ?? 0), 0);
      expect(read, analyzed ? "analyzed" : "never analyzed").toBeLessThanOrEqual(8 + 10);
    }
  });
});
