/**
 * Background work on the embedded store waits for lulls in the intake. The engine runs in the
 * receiver's one thread, so each statement of the upkeep or the retention purge (up to seconds on a
 * large ledger) holds every alert that arrives meanwhile. Before each statement such a job waits
 * for a lull (GroupCommit.quiet: a moment without arrivals), at most `maxWaitMs` per run in all, so
 * work a storm that never pauses puts off still gets done. stop() ends a wait at once, so a job
 * waiting for a lull never holds up the receiver's shutdown.
 */
export type WaitForQuiet = (maxWaitMs: number) => Promise<void>;

export interface RunLulls {
  /** Waits for a lull within the run's budget; false once the job is stopping. */
  before(): Promise<boolean>;
  /** Milliseconds this run has waited so far. */
  waitedMs(): number;
}

export function intakeLulls(waitForQuiet: WaitForQuiet | undefined) {
  let stopped = false;
  const stopping = Promise.withResolvers<void>();
  return {
    forRun(maxWaitMs: number): RunLulls {
      const deadline = performance.now() + maxWaitMs;
      let waited = 0;
      return {
        async before() {
          if (waitForQuiet && !stopped) {
            const at = performance.now();
            await Promise.race([waitForQuiet(Math.max(0, deadline - at)), stopping.promise]);
            waited += performance.now() - at;
          }
          return !stopped;
        },
        waitedMs: () => Math.round(waited),
      };
    },
    stop(): void {
      stopped = true;
      stopping.resolve();
    },
  };
}
