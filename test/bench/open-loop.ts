/**
 * Open-loop load at a fixed rate: request i is due at start + i / rate, whether or not earlier
 * requests have been answered, the way alerts arrive from Azure during a storm. Latency is counted
 * from each request's SCHEDULED time, so time spent queued (in the target, or here waiting for a
 * free socket) is part of it; a target that cannot keep up shows a growing latency instead of
 * quietly lowering the rate.
 *
 * Written here rather than taken from autocannon: its `overallRate` sends each connection's quota
 * for a second as fast as it can at the start of that second and then pauses (bursts, not a rate),
 * and its coordinated-omission correction assumes a 1 ms interval. An undici Pool gives many
 * keep-alive sockets cheaply; a timer tick every millisecond sends whatever has come due.
 *
 * A lead-in at the same rate comes first and is reported apart (`leadInP99Ms`): a target that
 * idled through the other targets' windows takes its first few hundred milliseconds at the rate
 * from idle, which in a 5 s window is enough requests to be the p99 by itself. The window then
 * measures the rate held, and the start stays visible.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import type { LoadSample } from "./closed-loop.ts";
import type { Bodies } from "./payloads.ts";
import { percentile } from "./stats.ts";

export interface OpenLoopOptions {
  /** e.g. http://127.0.0.1:8080 */
  origin: string;
  path: string;
  headers: Record<string, string>;
  bodies: Bodies;
  /** Requests per second. */
  rate: number;
  seconds: number;
  /** Seconds sent at the rate before the window, measured apart. */
  leadInSeconds: number;
  /** Most sockets open at once; more requests due than sockets wait here, and that wait counts. */
  sockets: number;
  /** How long to wait for answers after the last request was sent before giving up on them. */
  drainSeconds: number;
  signal: AbortSignal;
  onProgress?: (fraction: number, ok: number) => void;
}

export interface OpenLoopSample extends LoadSample {
  offered: number;
  /** Requests sent: all of them unless the run was cut short. */
  sent: number;
  /** 2xx answers per second, from the first scheduled request to the last answer. */
  achievedRate: number;
  /** Requests still unanswered after the drain time; their latency is counted as at least that wait. */
  unfinished: number;
  /** How late this process sent requests after their scheduled time (its own lag), p99 ms. */
  senderLagP99Ms: number;
  /** p99 latency of the lead-in's requests (the start from idle), ms. */
  leadInP99Ms?: number;
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopSample> {
  const leadIn = Math.round(options.rate * options.leadInSeconds);
  const total = leadIn + Math.max(1, Math.round(options.rate * options.seconds));
  const interval = 1000 / options.rate;
  const latencies = new Float64Array(total).fill(Number.NaN);
  const senderLag = new Float64Array(total);
  const pool = new Pool(options.origin, { connections: options.sockets, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
  const headers = { "content-type": "application/json", ...options.headers };
  let ok = 0;
  let leadInOk = 0;
  let non2xx = 0;
  let errors = 0;
  let answered = 0;
  let lastAnswer = 0;
  let sent = 0;
  let closing = false;
  let pending = 0;
  let allAnswered: () => void = () => undefined;

  const finish = (i: number, scheduled: number) => {
    if (closing) return;
    const now = performance.now();
    latencies[i] = now - scheduled;
    answered += 1;
    lastAnswer = now;
    pending -= 1;
    if (pending === 0) allAnswered();
  };
  // dispatch with a bare handler rather than request(): no promise and no body stream per
  // request, which keeps the generator's CPU per request near autocannon's.
  const send = (i: number, scheduled: number) => {
    pending += 1;
    let status = 0;
    pool.dispatch(
      { origin: options.origin, path: options.path, method: "POST", headers, body: options.bodies() },
      {
        onConnect: () => undefined,
        onHeaders: (statusCode) => {
          status = statusCode;
          return true;
        },
        onData: () => true,
        onComplete: () => {
          // A lead-in's failure still counts: only its latency is kept apart.
          if (status >= 200 && status < 300) {
            if (i < leadIn) leadInOk += 1;
            else ok += 1;
          } else non2xx += 1;
          finish(i, scheduled);
        },
        onError: () => {
          // The pool is destroyed after the drain time: those are counted as unfinished, not as errors.
          if (!closing) errors += 1;
          finish(i, scheduled);
        },
      },
    );
  };

  // A short lead, so the first request is not already late when the first tick runs.
  const start = performance.now() + 5;
  const windowStart = start + leadIn * interval;
  const progress = setInterval(() => options.onProgress?.(Math.min(1, Math.max(0, performance.now() - windowStart) / 1000 / options.seconds), ok), 250);
  try {
    while (sent < total && !options.signal.aborted) {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - start) / interval) + 1);
      for (; sent < due; sent += 1) {
        const scheduled = start + sent * interval;
        senderLag[sent] = now - scheduled;
        send(sent, scheduled);
      }
      // Sleeps until the next request is due; timers have a 1 ms grain, so arrivals are uniform to
      // within about a millisecond (at 2,000/s that is one or two requests per wake-up).
      if (sent < total) await sleep(Math.max(0, start + sent * interval - performance.now()));
    }
    if (pending > 0) {
      const drained = new Promise<void>((resolve) => (allAnswered = resolve));
      const drainEnd = new AbortController();
      await Promise.race([drained, sleep(options.drainSeconds * 1000, undefined, { signal: AbortSignal.any([options.signal, drainEnd.signal]) }).catch(() => undefined)]);
      drainEnd.abort();
    }
  } finally {
    clearInterval(progress);
    closing = true;
    const end = performance.now();
    // Whatever is still unanswered gets the time it has waited so far: a lower bound, so the
    // percentiles of a saturated run are honest in direction.
    for (let i = 0; i < sent; i += 1) if (Number.isNaN(latencies[i]!)) latencies[i] = end - (start + i * interval);
    await pool.destroy();
  }
  if (options.signal.aborted) throw options.signal.reason;
  const measured = latencies.subarray(Math.min(leadIn, sent), sent).sort();
  const seconds = Math.max(0, (lastAnswer || performance.now()) - windowStart) / 1000;
  return {
    ok,
    unmeasuredOk: leadInOk,
    non2xx,
    errors,
    seconds,
    latencies: measured,
    offered: options.rate,
    sent: Math.max(0, sent - leadIn),
    achievedRate: seconds > 0 ? ok / seconds : 0,
    unfinished: sent - answered,
    senderLagP99Ms: percentile(senderLag.subarray(0, sent).sort(), 99) ?? 0,
    ...(leadIn > 0 ? { leadInP99Ms: percentile(latencies.subarray(0, Math.min(leadIn, sent)).sort(), 99) } : {}),
  };
}
