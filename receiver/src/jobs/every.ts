/**
 * A job run every so often while the receiver runs: never two runs of it at once (a slow run
 * delays the next instead of piling up), a failed run is logged and tried again next time, and
 * stop() waits for a run in flight, so nothing it does is cut off at shutdown.
 */
import type { FastifyBaseLogger } from "fastify";

export interface EveryOptions {
  /** Names the job in its log lines. */
  name: string;
  intervalMs: number;
  /** Before the first run (default: one interval). */
  firstAfterMs?: number;
  log: FastifyBaseLogger;
}

export interface Job {
  stop(): Promise<void>;
}

export function every(options: EveryOptions, run: () => Promise<void>): Job {
  let stopped = false;
  let inFlight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const tick = () => {
    inFlight = run()
      .catch((error: unknown) => options.log.warn({ err: error, job: options.name }, `${options.name} failed; trying again in ${Math.round(options.intervalMs / 1000)} s`))
      .finally(() => {
        inFlight = null;
        schedule(options.intervalMs);
      });
  };
  schedule(options.firstAfterMs ?? options.intervalMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
