/** The outbox loop's own life: idle polling for a long time, then a clean stop. */
import { pino } from "pino";
import { afterEach, expect, it, vi } from "vitest";
import type { Connector } from "../../../receiver/src/outbox/delivery.ts";
import { OutboxWorker } from "../../../receiver/src/jobs/outbox-worker.ts";
import { createMetrics } from "../../../receiver/src/metrics.ts";
import type { Database } from "../../../receiver/src/store/database.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** A worker whose store has nothing to deliver: every claim finds no job, and is counted. */
function idleWorker(options: { concurrency: number; yieldTo?: () => Promise<void> }): { worker: OutboxWorker; claims: () => number } {
  let claims = 0;
  // A claim finds nothing due.
  const db = { transaction: async () => (claims++, { rows: [] }) } as unknown as Database;
  const connector: Connector = { name: "default", deliver: async () => null, check: async () => ({ ok: true, detail: "" }) };
  const worker = new OutboxWorker({
    db,
    connectors: [connector],
    config: { maxAgeMs: 60_000, retryBaseMs: 1000, retryMaxMs: 1000, concurrency: options.concurrency, pollMs: 1000 },
    log: pino({ level: "silent" }),
    metrics: createMetrics(),
    ...(options.yieldTo ? { yieldTo: options.yieldTo } : {}),
  });
  return { worker, claims: () => claims };
}

it("stops cleanly after hours of idle polling (each wait leaves nothing behind)", async () => {
  vi.useFakeTimers();
  const { worker, claims } = idleWorker({ concurrency: 4 });
  worker.start();
  // Three hours of one poll per second on each of the four loops.
  await vi.advanceTimersByTimeAsync(3 * 3600 * 1000);
  expect(claims()).toBeGreaterThan(40_000);
  await expect(worker.stop()).resolves.toBeUndefined();
});

it("waits for yieldTo before every claim (the embedded store: the intake goes first)", async () => {
  let release!: () => void;
  const { worker, claims } = idleWorker({ concurrency: 1, yieldTo: () => new Promise<void>((resolve) => (release = resolve)) });
  const run = worker.runOnce();
  await new Promise((r) => setTimeout(r, 20));
  expect(claims()).toBe(0);
  release();
  expect(await run).toBe(false);
  expect(claims()).toBe(1);
});
