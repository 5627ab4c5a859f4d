/** The periodic job's contract: one run at a time, failures retried, stop waits for the run in flight. */
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { every } from "../../../receiver/src/jobs/every.ts";

const log = pino({ level: "silent" });
afterEach(() => vi.useRealTimers());

describe("every", () => {
  it("never starts a run while one is in flight, and runs again an interval after the slow one ends", async () => {
    vi.useFakeTimers();
    let running = 0;
    let most = 0;
    let runs = 0;
    const job = every({ name: "slow", intervalMs: 100, log }, async () => {
      runs += 1;
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 350));
      running -= 1;
    });
    await vi.advanceTimersByTimeAsync(100 + 350 + 100 + 350 + 50);
    expect(runs).toBe(2);
    expect(most).toBe(1);
    await job.stop();
  });

  it("logs a failed run and tries again next interval", async () => {
    vi.useFakeTimers();
    const warnings: unknown[] = [];
    const spy = { ...log, warn: (entry: unknown) => void warnings.push(entry) } as unknown as typeof log;
    let calls = 0;
    const job = every({ name: "flaky", intervalMs: 50, log: spy }, async () => {
      calls += 1;
      if (calls === 1) throw new Error("store down");
    });
    await vi.advanceTimersByTimeAsync(120);
    expect(calls).toBe(2);
    expect(warnings).toEqual([expect.objectContaining({ job: "flaky" })]);
    await job.stop();
  });

  it("stop() waits for the run in flight and nothing runs after it", async () => {
    let finished = false;
    let runs = 0;
    const job = every({ name: "long", intervalMs: 10, firstAfterMs: 0, log }, async () => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
      finished = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await job.stop();
    expect(finished).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(runs).toBe(1);
  });
});
