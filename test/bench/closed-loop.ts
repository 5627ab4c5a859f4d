/**
 * Closed-loop load: `connections` keep-alive connections, each sending its next request as soon as
 * the previous answer arrives (autocannon). Throughput is what the target sustains at that
 * concurrency. Latencies are taken from autocannon's per-response event, unrounded (its own
 * histogram keeps whole milliseconds), for every answer, 2xx or not.
 */
import autocannon from "autocannon";
import type { Bodies } from "./payloads.ts";

export interface LoadSample {
  /** 2xx answers. */
  ok: number;
  /** 2xx answers sent around the window (an open loop's lead-in): their CPU is in the window's figures. */
  unmeasuredOk?: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Wall-clock seconds of the window. */
  seconds: number;
  /** Every answer's latency in ms, ascending. */
  latencies: Float64Array;
}

export interface ClosedLoopOptions {
  url: string;
  headers: Record<string, string>;
  bodies: Bodies;
  connections: number;
  /** Stop after this many seconds … */
  seconds?: number;
  /** … or after this many answers. */
  amount?: number;
  signal: AbortSignal;
  /** Called about four times a second with the fraction done and the 2xx count so far. */
  onProgress?: (fraction: number, ok: number) => void;
}

// Long enough for a commit stuck behind a slow disk; a request without an answer by then is an error.
const REQUEST_TIMEOUT_S = 30;

export async function closedLoop(options: ClosedLoopOptions): Promise<LoadSample> {
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  // autocannon's instance is an event emitter that is also a promise of the result.
  const instance = autocannon({
    url: options.url,
    method: "POST",
    connections: options.connections,
    timeout: REQUEST_TIMEOUT_S,
    headers: { "content-type": "application/json", ...options.headers },
    requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, body: options.bodies() }) }],
    // The window is timed here (fractional seconds, and stoppable on abort); autocannon's own
    // duration is whole seconds.
    ...(options.amount ? { amount: options.amount } : { duration: 1_000_000 }),
  }) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>;
  instance.on("response", (_client, status, _bytes, ms) => {
    latencies.push(ms);
    if (status >= 200 && status < 300) ok += 1;
    else non2xx += 1;
  });
  instance.on("reqError", () => {
    errors += 1;
  });
  const started = performance.now();
  const stop = () => instance.stop();
  options.signal.addEventListener("abort", stop, { once: true });
  const timer = options.seconds === undefined ? undefined : setTimeout(stop, options.seconds * 1000);
  const progress = setInterval(() => {
    const fraction = options.seconds !== undefined ? (performance.now() - started) / 1000 / options.seconds : (ok + non2xx + errors) / (options.amount ?? 1);
    options.onProgress?.(Math.min(1, fraction), ok);
  }, 250);
  try {
    await instance;
  } finally {
    clearTimeout(timer);
    clearInterval(progress);
    options.signal.removeEventListener("abort", stop);
  }
  if (options.signal.aborted) throw options.signal.reason;
  return { ok, non2xx, errors, seconds: (performance.now() - started) / 1000, latencies: Float64Array.from(latencies).sort() };
}
