/**
 * One measured window on one target: the load's answers and latencies, plus the CPU it cost.
 * CPU is read from /proc around the window and charged per accepted (2xx) alert: the target's own
 * process; PostgreSQL (every postgres process of the machine, minus the idle rate measured just
 * before the window, since a shared server also runs other people's work); and this process, the
 * load generator.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { LoadSample } from "./closed-loop.ts";
import { busyCores, machineCpu, postgresCpuSeconds, processCpuSeconds } from "./proc-stats.ts";
import { percentile } from "./stats.ts";
import type { Target } from "./targets.ts";

export interface WindowCpu {
  /** µs of the target process's CPU per 2xx answer. */
  targetUs?: number;
  /** µs of PostgreSQL's CPU per 2xx answer, idle baseline subtracted (PostgreSQL targets only). */
  postgresUs?: number;
  /** µs of the load generator's CPU per 2xx answer. */
  generatorUs?: number;
  /** Cores busy on the whole machine during the window (everyone's work). */
  busyCores?: number;
  /**
   * Cores PostgreSQL used while idle just before the window (other databases' work): subtracted
   * from its CPU. When it is large against the window's own, the per-alert figure is noise.
   */
  postgresIdleCores?: number;
}

export interface Measured<T extends LoadSample> {
  sample: T;
  /** 2xx answers per second. */
  rps: number;
  p50?: number;
  p99?: number;
  cpu: WindowCpu;
  /**
   * Seconds the target stayed busy after its window: work it put off past the answers (the outbox's
   * attempts, the noise timer's releases and updates) or requests still queued.
   */
  busyAfter?: number;
}

export interface MeasureOptions {
  /** Measure PostgreSQL's CPU (it runs on this machine). */
  postgresLocal: boolean;
  /** Seconds of idle PostgreSQL measured before a PostgreSQL target's window. */
  baselineSeconds: number;
  cores: number;
  signal: AbortSignal;
}

/** Below this share of one core, a target is idle (its background jobs only). */
const IDLE_CORES = 0.05;
const SETTLE_SAMPLE_MS = 250;
const SETTLE_TIMEOUT_MS = 120_000;

/**
 * Waits until the target has finished what it was sent. A target that fell behind still holds the
 * requests the generator gave up on (up to one per socket) and works them off after the window;
 * measuring the next target meanwhile would charge it for that work.
 */
async function settle(target: Target, signal: AbortSignal): Promise<number | undefined> {
  const started = performance.now();
  const deadline = started + SETTLE_TIMEOUT_MS;
  let idleSamples = 0;
  while (idleSamples < 2 && performance.now() < deadline) {
    const before = processCpuSeconds(target.pid);
    await sleep(SETTLE_SAMPLE_MS, undefined, { signal });
    const after = processCpuSeconds(target.pid);
    if (before === undefined || after === undefined) return undefined;
    idleSamples = (after - before) / (SETTLE_SAMPLE_MS / 1000) < IDLE_CORES ? idleSamples + 1 : 0;
  }
  if (idleSamples < 2) process.stderr.write(`${target.key} was still busy ${SETTLE_TIMEOUT_MS / 1000} s after its window; the next figures may be disturbed\n`);
  // Until the first of the two idle samples began.
  return Math.max(0, (performance.now() - started) / 1000 - (2 * SETTLE_SAMPLE_MS) / 1000);
}

export async function measure<T extends LoadSample>(target: Target, options: MeasureOptions, load: () => Promise<T>): Promise<Measured<T>> {
  const withPostgres = target.usesPostgres && options.postgresLocal;
  let idlePostgresPerSecond: number | undefined;
  if (withPostgres) {
    const before = postgresCpuSeconds();
    const startedIdle = performance.now();
    await sleep(options.baselineSeconds * 1000, undefined, { signal: options.signal });
    const after = postgresCpuSeconds();
    if (before !== undefined && after !== undefined) idlePostgresPerSecond = (after - before) / ((performance.now() - startedIdle) / 1000);
  }
  const started = performance.now();
  const target0 = processCpuSeconds(target.pid);
  const postgres0 = withPostgres ? postgresCpuSeconds() : undefined;
  const generator0 = process.cpuUsage();
  const machine0 = machineCpu();
  const sample = await load();
  const machine1 = machineCpu();
  const generator1 = process.cpuUsage(generator0);
  const postgres1 = withPostgres ? postgresCpuSeconds() : undefined;
  const target1 = processCpuSeconds(target.pid);
  const wall = (performance.now() - started) / 1000;
  const busyAfter = await settle(target, options.signal);

  const alerts = sample.ok + (sample.unmeasuredOk ?? 0);
  const perAlert = (seconds: number | undefined) => (seconds === undefined || alerts === 0 ? undefined : (seconds * 1e6) / alerts);
  const delta = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : b - a);
  const postgres = delta(postgres0, postgres1);
  return {
    sample,
    rps: sample.seconds > 0 ? sample.ok / sample.seconds : 0,
    p50: percentile(sample.latencies, 50),
    p99: percentile(sample.latencies, 99),
    cpu: {
      targetUs: perAlert(delta(target0, target1)),
      postgresUs: perAlert(postgres === undefined ? undefined : Math.max(0, postgres - (idlePostgresPerSecond ?? 0) * wall)),
      postgresIdleCores: idlePostgresPerSecond,
      generatorUs: perAlert((generator1.user + generator1.system) / 1e6),
      busyCores: busyCores(machine0, machine1, options.cores),
    },
    busyAfter,
  };
}
