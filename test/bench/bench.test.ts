/**
 * `npm run bench` as a user runs it, with tiny windows: it must finish with its JSON summary as the
 * last line of stdout, and leave nothing behind on any way out (success, a receiver that cannot
 * start, SIGTERM mid-run): no process it started, no temporary directory, no database.
 * The figures themselves are not asserted (the machine is shared); their presence and shape are.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run, start } from "../support/processes.ts";

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
// Start-up dominates (the receiver's own, under a shared machine's load): generous timeouts.
const TIMEOUT_MS = 90_000;
const QUICK = ["test/bench/bench.ts", "--quick", "--duration", "0.5", "--connections", "8", "--rates", "50", "--stores", "postgres", "--no-alertmanager"];

/** One bench run's identity: a marker in its environment (inherited by every child) and its TMPDIR. */
interface Run {
  marker: string;
  tempRoot: string;
  env(extra?: Record<string, string>): Record<string, string | undefined>;
  /** Processes whose environment carries the marker: the bench and everything it started. */
  processes(): number[];
}

function newRun(): Run {
  const marker = randomUUID();
  const tempRoot = mkdtempSync(join(tmpdir(), "bench-test-"));
  const handle: Run = {
    marker,
    tempRoot,
    env: (extra: Record<string, string> = {}) => ({ ...process.env, BENCH_DATABASE_URL: ADMIN_URL, TMPDIR: tempRoot, SECURE_EXPORT_BENCH_TEST_MARKER: marker, ...extra }),
    processes: () => {
      const pids: number[] = [];
      for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          if (readFileSync(`/proc/${entry}/environ`, "latin1").includes(`SECURE_EXPORT_BENCH_TEST_MARKER=${marker}\0`)) pids.push(Number(entry));
        } catch {
          // Gone, or another user's process.
        }
      }
      return pids;
    },
  };
  started.push(handle);
  return handle;
}

const started: Run[] = [];
let databasesBefore: string[];

async function benchDatabases(): Promise<string[]> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'secure_export_bench_%'");
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

function expectNothingLeftBehind(run: Run): void {
  expect(run.processes()).toEqual([]);
  expect(readdirSync(run.tempRoot)).toEqual([]);
}

// The runs are independent (own marker, own TMPDIR, own database), so they run side by side.
describe.skipIf(process.platform !== "linux").concurrent("npm run bench", () => {
  beforeAll(async () => {
    databasesBefore = await benchDatabases();
  });
  afterAll(async () => {
    for (const run of started) {
      for (const pid of run.processes()) process.kill(pid, "SIGKILL");
      rmSync(run.tempRoot, { recursive: true, force: true });
    }
    // Every run has ended: none of the databases they created may remain.
    expect((await benchDatabases()).filter((name) => !databasesBefore.includes(name))).toEqual([]);
  });

  test("--quick measures the ceiling and the receiver on PostgreSQL and ends with the JSON summary", async () => {
    const bench = newRun();
    const result = await run(QUICK, bench.env(), TIMEOUT_MS);
    expect(result.stderr).toMatch(/\[1\/\d+\] starting ceiling, postgres_floor, postgres, postgres_routed, postgres_noise: ready/);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    const summary = JSON.parse(lines.at(-1)!);
    expect(summary).toMatchObject({ ok: true, mode: "quick", options: { connections: [8], rates: [50], stores: ["postgres"] }, alertmanager: { status: "left out (--no-alertmanager)" } });

    const ceiling = summary.closed["8"].ceiling;
    const receiver = summary.closed["8"].postgres;
    expect(ceiling.ratio_ceiling).toBe(1);
    expect(receiver).toMatchObject({ non2xx: 0, errors: 0 });
    expect(receiver.rps).toBeGreaterThan(0);
    expect(receiver.ratio_ceiling).toBeCloseTo(receiver.rps / ceiling.rps, 2);
    expect(receiver.p99_ms).toBeGreaterThanOrEqual(receiver.p50_ms);
    expect(receiver.cpu_us_per_alert).toBeGreaterThan(0);
    expect(receiver.pg_cpu_us_per_alert).toBeGreaterThanOrEqual(0);
    expect(receiver.rounds).toHaveLength(1);
    // The store's floor (its durable commit alone) is measured in the same round, and the receiver against it.
    const floor = summary.closed["8"].postgres_floor;
    expect(floor).toMatchObject({ non2xx: 0, errors: 0, ratio_floor: 1 });
    expect(receiver.ratio_floor).toBeCloseTo(receiver.rps / floor.rps, 2);
    expect(floor.pg_cpu_us_per_alert).toBeGreaterThanOrEqual(0);
    // It answered only what it stored: its table holds at least every alert it answered 2xx in the windows.
    expect(summary.floor_stored.postgres_floor.accepted).toBeGreaterThan(0);
    expect(summary.floor_stored.postgres_floor.stored).toBeGreaterThanOrEqual(summary.floor_stored.postgres_floor.accepted);
    // Put-off work (the outbox, the noise timer) is shown, not hidden in the pause between windows.
    expect(receiver.busy_after_s).toBeGreaterThanOrEqual(0);

    const open = summary.open["50"].postgres;
    expect(open).toMatchObject({ offered: 50, non2xx: 0, errors: 0 });
    expect(open.rps).toBeGreaterThan(0);
    expect(open.p99_ms).toBeGreaterThanOrEqual(open.p50_ms);
    // The start at the rate from idle is measured apart, not dropped.
    expect(open.lead_in_p99_ms).toBeGreaterThan(0);
    expect(summary.peak_rss_mb.postgres).toBeGreaterThan(0);
    expect(summary.startup_peak_rss_mb.postgres).toBeGreaterThan(0);
    expect(summary.peak_rss_since).toBe("ready");
    // The same routing with and without the noise rules, as a ratio of the same round.
    const noise = summary.closed["8"].postgres_noise;
    expect(noise).toMatchObject({ non2xx: 0, errors: 0 });
    expect(summary.noise.postgres.closed_rps_noise_over_routed["8"]).toBeCloseTo(noise.rps / summary.closed["8"].postgres_routed.rps, 2);
    expect(result.stdout).toContain("Noise control: each store with a realistic noise rule set");
    // Both sides deliver to a ServiceNow of their own that answers (slowly, as a hosted instance does): the outbox waits rather than spins.
    expect(summary.noise.postgres.itsm_calls.routed).toBeGreaterThan(0);
    expect(summary.noise.postgres.itsm_calls.noise).toBeGreaterThan(0);
    expect(result.stdout).toMatch(/postgres: ServiceNow calls over the run, [\d,]+ with the noise rules, [\d,]+ without/);
    // The human-readable tables come before the JSON line.
    expect(result.stdout).toContain("Closed loop");
    expect(result.stdout).toContain("Open loop");

    expectNothingLeftBehind(bench);
  }, TIMEOUT_MS);

  test("a receiver that cannot start fails the run with its own message and nothing is left running", async () => {
    const bench = newRun();
    // The receiver refuses this value at start-up (docs/configuration.md: BODY_LIMIT_BYTES is at least 1024).
    const result = await run(QUICK, bench.env({ BODY_LIMIT_BYTES: "1" }), TIMEOUT_MS);
    expect(result.code).toBe(1);
    // Whichever receiver exits first is named (the noise comparison starts two more).
    expect(result.stderr).toMatch(/receiver postgres(_routed|_noise)? exited unexpectedly/);
    expect(result.stderr).toContain("BODY_LIMIT_BYTES");
    expect(JSON.parse(result.stdout.trimEnd().split("\n").at(-1)!)).toMatchObject({ ok: false });
    expectNothingLeftBehind(bench);
  }, TIMEOUT_MS);

  test("SIGTERM in the middle of a measurement stops every process the bench started", async () => {
    // 2.5 s windows: the warm-up stays at 0.5 s per target, the signal lands inside the first window.
    const identity = newRun();
    const bench = start([...QUICK, "--duration", "2.5"], identity.env());
    await bench.waitFor(/warm-up.*: done/, 60_000);
    expect(identity.processes().length).toBeGreaterThanOrEqual(3); // the bench, the ceiling, the receiver
    expect(await bench.stop("SIGTERM")).toBe(143);
    expect(bench.output()).toContain("interrupted by SIGTERM");
    expectNothingLeftBehind(identity);
  }, TIMEOUT_MS);
});
