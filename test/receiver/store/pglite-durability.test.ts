/**
 * The embedded store flushes every commit to disk before it returns. PGlite on its own starts
 * PostgreSQL with fsync off and turns fdatasync into a no-op: a commit survived a process kill but
 * not a power loss. These tests fail when commits stop reaching the disk.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptNotifications } from "../../../receiver/src/ledger/accept-notifications.ts";
import { migrate } from "../../../receiver/src/store/migrate.ts";
import { claimDelivery, failDelivery } from "../../../receiver/src/store/outbox.ts";
import { openPglite, type FlushCounter } from "../../../receiver/src/store/pglite-database.ts";
import type { Database } from "../../../receiver/src/store/database.ts";
import { wrapContext } from "../../support/fixtures.ts";
import { NO_TARGETS, prepared } from "../../support/notifications.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "secure-export-durable-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the embedded store's commits", () => {
  let db: Database;
  const counter: FlushCounter = { flushes: 0 };
  beforeAll(async () => {
    db = await openPglite(join(dir, "counted"), counter);
    await migrate(db);
  });
  afterAll(() => db?.close());

  it("each committed intake batch asks the disk to flush before the commit returns", async () => {
    for (let i = 0; i < 5; i += 1) {
      const before = counter.flushes;
      await acceptNotifications(db, [prepared(wrapContext("metric-static.json")), prepared(wrapContext("log-alerts-v2.json"))], NO_TARGETS);
      expect(counter.flushes - before).toBeGreaterThanOrEqual(1);
    }
  });

  it("the outbox's bookkeeping (a claim, a failed attempt) does not wait for the disk; the next alert's commit flushes it", async () => {
    await db.query(
      `WITH i AS (
         INSERT INTO incidents (alert_id, alert_key, state, title, monitoring_service, family, fired_at, last_at, last_rank, last_key)
         VALUES ('outbox-flush', 'outbox-flush', 'open', 't', 'Platform', 'metric', now(), 'x', 0, 'k') RETURNING id)
       INSERT INTO deliveries (incident_id, connector, action, payload, deadline_at) SELECT id, 'servicenow', 'open', '{}'::jsonb, now() + interval '1 hour' FROM i`,
    );
    const before = counter.flushes;
    const job = await claimDelivery(db, ["servicenow"]);
    expect(job).not.toBeNull();
    expect(await failDelivery(db, job!, "connect ECONNREFUSED", new Date(Date.now() + 60_000))).toBe("retry");
    expect(counter.flushes).toBe(before);
    await acceptNotifications(db, [prepared(wrapContext("metric-static.json"))], NO_TARGETS);
    expect(counter.flushes).toBeGreaterThan(before);
  });
});

const strace = ["/usr/bin/strace", "/bin/strace"].find((p) => existsSync(p));

describe.skipIf(!strace)("the embedded store's commits, seen by the kernel (strace)", () => {
  it("issues an fsync system call for every commit", { timeout: 120_000 }, async () => {
    // One store made here, copied for both traced runs, so both start from the same files.
    const template = join(dir, "template");
    const made = await openPglite(template);
    await made.query("CREATE TABLE t (n int)");
    await made.close();
    await cp(template, join(dir, "traced"), { recursive: true });
    await cp(template, join(dir, "traced-idle"), { recursive: true });
    const script = join(dir, "commit.ts");
    const storeModule = new URL("../../../receiver/src/store/pglite-database.ts", import.meta.url).pathname;
    await writeFile(
      script,
      `import { openPglite } from ${JSON.stringify(storeModule)};
       const db = await openPglite(${JSON.stringify(join(dir, "traced"))});
       for (let i = 0; i < 20; i += 1) await db.transaction(async (tx) => { await tx.query("INSERT INTO t VALUES ($1)", [i]); });
       await db.close();`,
    );
    const trace = join(dir, "trace.txt");
    // Only the commits' flushes are counted: the trace covers the whole run, so compare with a run
    // that commits nothing but does everything else.
    const run = async (out: string, source: string) => {
      await writeFile(script, source);
      await promisify(execFile)(strace!, ["-f", "-e", "trace=fsync,fdatasync", "-o", out, process.execPath, script], { timeout: 110_000 });
      return (await readFile(out, "utf8")).split("\n").filter((l) => /\b(fsync|fdatasync)\(/.test(l) && !/unfinished/.test(l)).length;
    };
    const source = await readFile(script, "utf8");
    const withCommits = await run(trace, source);
    const withoutCommits = await run(`${trace}.idle`, source.replace("i < 20", "i < 0").replace(join(dir, "traced"), join(dir, "traced-idle")));
    expect(withCommits - withoutCommits).toBeGreaterThanOrEqual(20);
  });
});
