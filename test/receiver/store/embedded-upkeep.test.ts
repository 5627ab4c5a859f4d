/**
 * The embedded store's upkeep (store/maintenance.ts): PGlite has no autovacuum, so without it every
 * update's old row version stays on disk for good and the planner never gets statistics.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Database } from "../../../receiver/src/store/database.ts";
import { CHURNING_TABLES, upkeepChurningTables } from "../../../receiver/src/store/maintenance.ts";
import { migrate } from "../../../receiver/src/store/migrate.ts";
import { openPglite } from "../../../receiver/src/store/pglite-database.ts";

const open: Database[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
});

async function outboxUnderRetries(upkeep: boolean): Promise<{ sizes: number[]; reltuples: number; columnStatistics: number }> {
  const db = await openPglite(undefined);
  open.push(db);
  await migrate(db);
  await db.query(
    `WITH i AS (
       INSERT INTO incidents (alert_id, alert_key, state, title, monitoring_service, family, fired_at, last_at, last_rank, last_key)
       SELECT 'u-' || g, 'u-' || g, 'open', 't', 'Platform', 'metric', now(), 'x', 0, 'k' FROM generate_series(1, 2000) g RETURNING id)
     INSERT INTO deliveries (incident_id, connector, action, payload, deadline_at) SELECT id, 'servicenow', 'open', '{}'::jsonb, now() + interval '1 day' FROM i`,
  );
  const sizes: number[] = [];
  for (let round = 0; round < 8; round += 1) {
    // Each attempt moves the job's next attempt (an indexed column): a new row version and new index entries.
    await db.query("UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => attempts + 1), updated_at = now()");
    // Vacuumed every round, analyzed once (as the job does: vacuum often, analyze hourly).
    if (upkeep) await upkeepChurningTables(db, { analyze: round === 0 });
    const { rows } = await db.query<{ bytes: string }>("SELECT (pg_table_size('deliveries') + pg_indexes_size('deliveries'))::text AS bytes");
    sizes.push(Number(rows[0]!.bytes));
  }
  const { rows } = await db.query<{ reltuples: number; stats: number }>(
    "SELECT reltuples, (SELECT count(*) FROM pg_stats WHERE tablename = 'deliveries')::int AS stats FROM pg_class WHERE relname = 'deliveries'",
  );
  return { sizes, reltuples: Number(rows[0]!.reltuples), columnStatistics: rows[0]!.stats };
}

describe("the embedded store's upkeep", () => {
  it("keeps a table that is updated over and over from growing with every update, and gives the planner statistics", { timeout: 60_000 }, async () => {
    const kept = await outboxUnderRetries(true);
    const left = await outboxUnderRetries(false);
    // Without upkeep every round adds a full copy of the rows and their index entries.
    expect(left.sizes.at(-1)!).toBeGreaterThan(left.sizes[1]! * 2);
    expect(left.reltuples).toBeLessThan(0);
    expect(left.columnStatistics).toBe(0);
    // With it the space of old versions is reused: after the first rounds the size stays put.
    expect(kept.sizes.at(-1)!).toBeLessThanOrEqual(kept.sizes[1]! * 1.25);
    // The planner knows the table: its size, and each column's values (ANALYZE).
    expect(kept.reltuples).toBe(2000);
    expect(kept.columnStatistics).toBeGreaterThan(5);
  });

  it("names only tables the migrations create", async () => {
    const db = await openPglite(undefined);
    open.push(db);
    await migrate(db);
    const { rows } = await db.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'");
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining([...CHURNING_TABLES]));
  });
});
