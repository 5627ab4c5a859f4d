/** The embedded store's upkeep job: vacuum every interval, ANALYZE on the first run and every sixth, each step its own statement. */
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
});
