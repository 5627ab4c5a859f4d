/**
 * The embedded store's upkeep job: vacuum every interval, ANALYZE on the first run and every sixth,
 * each step its own statement, each statement after a lull in the intake (at most a run's wait budget).
 */
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startEmbeddedUpkeep } from "../../../receiver/src/jobs/embedded-upkeep.ts";
import type { Database } from "../../../receiver/src/store/database.ts";
import { CHURNING_TABLES } from "../../../receiver/src/store/maintenance.ts";

afterEach(() => vi.useRealTimers());

describe("embedded store upkeep", () => {
  it("vacuums the churning tables every interval and analyzes them on the first run and hourly, one statement at a time", async () => {
    vi.useFakeTimers();
    const statements: string[] = [];
    const db = { exec: async (sql: string) => void statements.push(sql) } as unknown as Database;
    const lines: Array<{ analyze: boolean }> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const job = startEmbeddedUpkeep({ db, log, intervalMs: 1000, firstAfterMs: 10 });
    await vi.advanceTimersByTimeAsync(10 + 6 * 1000 + 50);
    await job.stop();
    const runs = lines.filter((l) => "analyze" in l).map((l) => l.analyze);
    expect(runs).toEqual([true, false, false, false, false, false, true]);
    // Each table and step on its own: the intake's transactions get the store between them.
    expect(statements.slice(0, CHURNING_TABLES.length * 2)).toEqual(CHURNING_TABLES.flatMap((t) => [`VACUUM ${t}`, `ANALYZE ${t}`]));
    expect(statements.slice(CHURNING_TABLES.length * 2, CHURNING_TABLES.length * 3)).toEqual(CHURNING_TABLES.map((t) => `VACUUM ${t}`));
  });

  const silentLog = () => pino({ level: "silent" });

  it("runs no statement while the intake has no lull, and each one once it has", async () => {
    const statements: string[] = [];
    const db = { exec: async (sql: string) => void statements.push(sql) } as unknown as Database;
    const lulls: Array<() => void> = [];
    const job = startEmbeddedUpkeep({ db, log: silentLog(), intervalMs: 60_000, firstAfterMs: 1, waitForQuiet: () => new Promise<void>((resolve) => lulls.push(resolve)) });
    await vi.waitFor(() => expect(lulls).toHaveLength(1));
    expect(statements).toEqual([]);
    // One lull, one statement: the next waits for a lull of its own.
    for (let i = 0; i < CHURNING_TABLES.length * 2; i += 1) {
      lulls[i]!();
      await vi.waitFor(() => expect(statements).toHaveLength(i + 1));
      if (i + 1 < CHURNING_TABLES.length * 2) await vi.waitFor(() => expect(lulls).toHaveLength(i + 2));
      expect(statements).toHaveLength(i + 1);
    }
    expect(statements).toEqual(CHURNING_TABLES.flatMap((t) => [`VACUUM ${t}`, `ANALYZE ${t}`]));
    await job.stop();
  });

  it("waits at most its budget per run in all, then runs every statement through a storm that never pauses", async () => {
    const statements: Array<{ sql: string; at: number }> = [];
    const started = performance.now();
    const db = { exec: async (sql: string) => void statements.push({ sql, at: performance.now() - started }) } as unknown as Database;
    const budgets: number[] = [];
    // An intake that is never quiet: GroupCommit.quiet resolves only at its deadline.
    const neverQuiet = (maxWaitMs: number) => {
      budgets.push(maxWaitMs);
      return new Promise<void>((resolve) => setTimeout(resolve, maxWaitMs));
    };
    const job = startEmbeddedUpkeep({ db, log: silentLog(), intervalMs: 60_000, firstAfterMs: 1, maxWaitMs: 300, waitForQuiet: neverQuiet });
    await vi.waitFor(() => expect(statements).toHaveLength(CHURNING_TABLES.length * 2), { timeout: 5_000 });
    await job.stop();
    // Nothing ran before the budget was spent; after it, nothing waited again.
    expect(statements[0]!.at).toBeGreaterThanOrEqual(290);
    expect(budgets[0]).toBeGreaterThan(250);
    expect(budgets.slice(1).every((b) => b < 50)).toBe(true);
  });

  it("stops at once while waiting for a lull, running nothing more", async () => {
    const statements: string[] = [];
    const db = { exec: async (sql: string) => void statements.push(sql) } as unknown as Database;
    let asked = 0;
    const job = startEmbeddedUpkeep({ db, log: silentLog(), intervalMs: 60_000, firstAfterMs: 1, waitForQuiet: () => (asked += 1, new Promise<void>(() => undefined)) });
    await vi.waitFor(() => expect(asked).toBe(1));
    const stopping = performance.now();
    await job.stop();
    expect(performance.now() - stopping).toBeLessThan(1_000);
    expect(statements).toEqual([]);
  });
});
