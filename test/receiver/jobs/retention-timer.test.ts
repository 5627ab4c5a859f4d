/** The retention timer: a purge a minute after start and hourly; on the embedded store each statement after a lull in the intake. */
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import { startRetentionTimer } from "../../../receiver/src/jobs/retention-timer.ts";
import type { Database } from "../../../receiver/src/store/database.ts";

/** A store with nothing to purge that writes down each statement's table. */
function recordingStore(): { db: Database; purged: string[] } {
  const purged: string[] = [];
  const query = async (sql: string) => {
    // The table the statement purges: the last it deletes from (an incident goes after its timeline).
    purged.push([...sql.matchAll(/DELETE FROM (\w+)/g)].at(-1)![1]!);
    return { rows: [{ n: 0 }] };
  };
  // Some statements run in a transaction of their own (for its plan settings).
  const db = { query, transaction: (work: (tx: unknown) => Promise<unknown>) => work({ query }) } as unknown as Database;
  return { db, purged };
}

describe("retention timer", () => {
  it("runs each purge statement only after a lull in the intake", async () => {
    const { db, purged } = recordingStore();
    const lulls: Array<() => void> = [];
    const job = startRetentionTimer({ db, days: 30, log: pino({ level: "silent" }), firstAfterMs: 1, waitForQuiet: () => new Promise<void>((resolve) => lulls.push(resolve)) });
    await vi.waitFor(() => expect(lulls).toHaveLength(1));
    expect(purged).toEqual([]);
    lulls[0]!();
    await vi.waitFor(() => expect(lulls).toHaveLength(2));
    expect(purged).toEqual(["notifications"]);
    for (let i = 1; i < 5; i += 1) {
      lulls[i]!();
      await vi.waitFor(() => expect(purged).toHaveLength(i + 1));
    }
    expect(purged).toEqual(["notifications", "incidents", "deliveries", "configuration_items", "itsm_events"]);
    await job.stop();
  });

  it("stops at once while waiting for a lull, purging nothing more", async () => {
    const { db, purged } = recordingStore();
    let asked = 0;
    const job = startRetentionTimer({ db, days: 30, log: pino({ level: "silent" }), firstAfterMs: 1, waitForQuiet: () => (asked += 1, new Promise<void>(() => undefined)) });
    await vi.waitFor(() => expect(asked).toBe(1));
    const stopping = performance.now();
    await job.stop();
    expect(performance.now() - stopping).toBeLessThan(1_000);
    expect(purged).toEqual([]);
  });

  it("purges nothing and starts nothing with RETENTION_DAYS=0", async () => {
    const { db, purged } = recordingStore();
    const job = startRetentionTimer({ db, days: 0, log: pino({ level: "silent" }), firstAfterMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await job.stop();
    expect(purged).toEqual([]);
  });
});
