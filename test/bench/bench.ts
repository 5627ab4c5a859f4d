/**
 * `npm run bench`: the receiver under load over loopback, compared in the same run with the
 * ceiling of a bare Fastify route and, when installed, Prometheus Alertmanager. Every system runs
 * as its own process (the receiver as the container image runs it) and is measured in turn, round
 * after round, so that ratios come from the same moments of a shared machine.
 *
 *   npm run bench                                  everything, 10-20 minutes
 *   npm run bench -- --quick                       a smoke run, a few seconds per target
 *   npm run bench -- --stores=postgres --scale     adds the 1,000,000-incident comparison
 *   npm run bench -- --no-noise                    leaves out the noise-control comparison
 *   npm run soak                                   100,000 alerts per store, peak memory
 *
 * Progress goes to stderr; tables and, as the last line, one JSON object go to stdout.
 * docs/performance.md describes every figure.
 */
import { cpus, loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { startLocalIssuer } from "../../receiver/local/local-issuer.ts";
import { closedLoop, type LoadSample } from "./closed-loop.ts";
import { measure, type Measured, type MeasureOptions } from "./measure.ts";
import { openLoop, type OpenLoopSample } from "./open-loop.ts";
import { parseOptions, UsageError, USAGE, type Options } from "./options.ts";
import { processMemory, resetPeakMemory } from "./proc-stats.ts";
import { Progress, duration, type PlannedPhase } from "./progress.ts";
import { startNoiseComparison, type NoiseComparison } from "./noise-rules.ts";
import { addRatios, comparisonTables, noiseRatios, scaleRatios, summariseSeries, toRound, type NoiseReport, type Round, type ScaleRatios, type Series } from "./report.ts";
import { soak, soakTable } from "./soak.ts";
import { megabytes, round } from "./stats.ts";
import { Interrupted, Supervisor } from "./supervisor.ts";
import {
  alertmanagerVersion,
  checkPostgres,
  createBenchDatabase,
  findAlertmanager,
  floorStored,
  postgresIsLocal,
  sequentialScans,
  type SequentialScans,
  startAlertmanager,
  startCeiling,
  startFloor,
  startReceiver,
  type StartContext,
  type Store,
  type Target,
} from "./targets.ts";

/** Sockets the open-loop generator may open: enough to keep 2,000/s flowing through a 250 ms stall. */
const OPEN_LOOP_SOCKETS = 512;
/** Seconds at the rate before each open-loop window, reported apart (open-loop.ts). */
const OPEN_LOOP_LEAD_IN_S = 1;
/** Concurrency of the --scale preload: high, to fill the store fast (the store batches under load). */
const PRELOAD_CONNECTIONS = 128;
/** Rate assumed for the first preload's estimate; the next ones expect to take as long as it did. */
const PRELOAD_ESTIMATE_PER_S = 1500;

interface Outcome {
  tables: string[];
  json: Record<string, unknown>;
}

interface TargetPlan {
  key: string;
  start: (context: StartContext) => Promise<Target>;
  /** Incidents to load through the API before measuring (the --scale targets). */
  preload?: number;
}

/** What runs: the ceiling, Alertmanager when present, each store's floor, a receiver per store, and with --scale a second receiver per store on a pre-loaded ledger. */
function targetPlans(options: Options, supervisor: Supervisor, alertmanagerBinary: string | undefined, comparisons: ReadonlyMap<Store, NoiseComparison>): TargetPlan[] {
  const soakMode = options.soak !== undefined;
  const receiver = (key: string, store: Store, preload?: number, env: Record<string, string> = {}): TargetPlan => ({
    key,
    preload,
    start: async (context) => startReceiver(context, key, store, store === "postgres" ? await createBenchDatabase(supervisor) : undefined, env),
  });
  return [
    ...(soakMode ? [] : [{ key: "ceiling", start: startCeiling }]),
    ...(alertmanagerBinary ? [{ key: "alertmanager", start: (context: StartContext) => startAlertmanager(context, alertmanagerBinary) }] : []),
    // What the durable commit alone costs on each store: how far the receiver is from it is what its ledger costs.
    ...(options.floor && !soakMode
      ? options.stores.map((store) => ({ key: `${store}_floor`, start: async (context: StartContext) => startFloor(context, store, store === "postgres" ? await createBenchDatabase(supervisor) : undefined) }))
      : []),
    ...options.stores.map((store) => receiver(store, store)),
    ...(options.scale && !soakMode ? options.stores.map((store) => receiver(`${store}_full`, store, options.scale)) : []),
    // The same routing with and without the noise rules: their ratio is the cost of noise decisions in the intake.
    ...[...comparisons].flatMap(([store, comparison]) => [receiver(`${store}_routed`, store, undefined, comparison.routed), receiver(`${store}_noise`, store, undefined, comparison.noise)]),
  ];
}

/** Fills a store with `wanted` new alerts through its HTTP API; non-2xx answers are sent again (three passes at most). */
async function preload(target: Target, wanted: number, signal: AbortSignal, update: (fraction: number, detail: string) => void): Promise<number> {
  let loaded = 0;
  for (let pass = 0; pass < 3 && loaded < wanted; pass += 1) {
    const before = loaded;
    const sample = await closedLoop({
      url: target.origin + target.path,
      headers: target.headers,
      bodies: target.bodies,
      connections: PRELOAD_CONNECTIONS,
      amount: wanted - loaded,
      signal,
      onProgress: (_fraction, ok) => update((before + ok) / wanted, `${(before + ok).toLocaleString("en-US")} incidents`),
    });
    loaded += sample.ok;
  }
  if (loaded < wanted) throw new Error(`${target.key}: only ${loaded} of ${wanted} preload alerts were accepted after 3 passes`);
  return loaded;
}

/**
 * PostgreSQL 15 publishes a backend's table statistics at most every 10 s, and within 10 s of the
 * backend going idle (PGSTAT_MIN_INTERVAL / PGSTAT_IDLE_INTERVAL, src/backend/utils/activity/pgstat.c):
 * read them only after the receivers have been idle that long.
 */
const STATS_FLUSH_MS = 11_000;

async function readScans(targets: Target[], progress: Progress, signal: AbortSignal): Promise<Map<string, SequentialScans>> {
  return progress.phase(
    "waiting for PostgreSQL's table statistics (published within 10 s of idling)",
    async () => {
      await sleep(STATS_FLUSH_MS, undefined, { signal });
      return new Map(await Promise.all(targets.filter((t) => t.databaseUrl).map(async (t) => [t.key, await sequentialScans(t.databaseUrl!)] as const)));
    },
    (scans) => [...scans].map(([key, s]) => `${key}: ${s.scans.toLocaleString("en-US")} sequential scans so far`).join(", "),
  );
}

const summary = (m: Measured<LoadSample>) =>
  `${Math.round(m.rps).toLocaleString("en-US")} req/s, p50 ${round(m.p50)} ms, p99 ${round(m.p99)} ms${m.sample.non2xx + m.sample.errors ? `, ${m.sample.non2xx} non-2xx, ${m.sample.errors} errors` : ""}`;
/** Sending later than this (p99) means the generator itself was starved of CPU. */
const SENDER_LAG_WARNING_MS = 10;
const openSummary = (m: Measured<OpenLoopSample>) =>
  `${Math.round(m.sample.achievedRate).toLocaleString("en-US")}/s achieved, p50 ${round(m.p50)} ms, p99 ${round(m.p99)} ms` +
  (m.sample.non2xx + m.sample.errors + m.sample.unfinished ? `, ${m.sample.non2xx} non-2xx, ${m.sample.errors} errors, ${m.sample.unfinished} unanswered` : "") +
  (m.sample.senderLagP99Ms > SENDER_LAG_WARNING_MS ? ` (the generator sent late, p99 ${round(m.sample.senderLagP99Ms)} ms: the machine is too busy for these figures)` : "");

async function bench(options: Options, supervisor: Supervisor): Promise<Outcome> {
  const cores = cpus().length;
  const postgresLocal = postgresIsLocal();
  const machine: Record<string, unknown> = { cores, load_1m_before: round(loadavg()[0], 2), postgres_cpu_measured: postgresLocal };
  const startedAt = new Date().toISOString();
  if (loadavg()[0]! > cores) {
    process.stderr.write(`The machine is busy (load ${loadavg()[0]!.toFixed(1)} on ${cores} cores): compare only ratios within this run.\n`);
  }
  const soakMode = options.soak !== undefined;

  const alertmanagerBinary = options.alertmanager && !soakMode ? findAlertmanager() : undefined;
  const alertmanager = alertmanagerBinary
    ? { status: "measured", binary: alertmanagerBinary, version: alertmanagerVersion(alertmanagerBinary) }
    : { status: options.alertmanager ? "skipped: not installed (apt-get install prometheus-alertmanager)" : "left out (--no-alertmanager)" };
  if (!soakMode && !alertmanagerBinary) process.stderr.write(`Alertmanager ${alertmanager.status}\n`);
  // Each store's noise comparison delivers to ServiceNow fakes of its own (noise-rules.ts).
  const comparisons = new Map<Store, NoiseComparison>(options.noise && !soakMode ? await Promise.all(options.stores.map(async (store) => [store, await startNoiseComparison(supervisor)] as const)) : []);
  const plans = targetPlans(options, supervisor, alertmanagerBinary, comparisons);
  const preloads = plans.filter((p) => p.preload);

  // The plan of phases, in the order they run, for the estimated time left.
  const warmup = Math.min(3, Math.max(0.5, options.duration / 5));
  const baseline = options.quick ? 0.3 : 1;
  const leadIn = options.quick ? 0.2 : OPEN_LOOP_LEAD_IN_S;
  const window = (plan: TargetPlan) => options.duration + (plan.key.startsWith("postgres") && postgresLocal ? baseline : 0);
  const planned: PlannedPhase[] = [
    { kind: "start", seconds: options.stores.includes("pglite") ? 20 : 5 },
    ...preloads.map((p) => ({ kind: "preload", seconds: p.preload! / PRELOAD_ESTIMATE_PER_S })),
  ];
  // Table statistics need a pause to be complete (below); too long for a smoke run.
  const withScanCounts = !soakMode && !options.quick && options.stores.includes("postgres");
  if (soakMode) planned.push(...plans.map((p) => ({ kind: `soak:${p.key}`, seconds: options.soak! / 1000 })));
  else {
    planned.push({ kind: "warm-up", seconds: warmup * plans.length });
    if (withScanCounts) planned.push({ kind: "statistics", seconds: STATS_FLUSH_MS / 1000 });
    for (const _ of options.connections) for (let r = 0; r < options.rounds; r += 1) planned.push(...plans.map((p) => ({ kind: `closed:${p.key}`, seconds: window(p) })));
    for (const _ of options.rates) for (let r = 0; r < options.rounds; r += 1) planned.push(...plans.map((p) => ({ kind: `open:${p.key}`, seconds: window(p) + leadIn + 0.5 })));
    if (withScanCounts) planned.push({ kind: "statistics", seconds: STATS_FLUSH_MS / 1000 });
  }
  const progress = new Progress(planned);
  const measureOptions: MeasureOptions = { postgresLocal, baselineSeconds: baseline, cores, signal: supervisor.signal };

  // Before any process starts: an unreachable server is the commonest mistake.
  if (options.stores.includes("postgres")) await checkPostgres();
  const issuer = await startLocalIssuer();
  supervisor.defer("local issuer", () => issuer.close());
  const context: StartContext = { supervisor, readyTimeoutMs: options.readyTimeout * 1000, issuer };
  const targets = await progress.phase(
    `starting ${plans.map((p) => p.key).join(", ")}`,
    async () => {
      // Every start settles before a failure is reported, so none is still spawning at shutdown.
      const started = await Promise.allSettled(plans.map((p) => p.start(context)));
      const failed = started.find((s) => s.status === "rejected");
      if (failed) throw failed.reason;
      return started.map((s) => (s as PromiseFulfilledResult<Target>).value);
    },
    (started) => `ready (${started.map((t) => `${t.key} pid ${t.pid}`).join(", ")})`,
  );
  const byKey = new Map(targets.map((t) => [t.key, t]));
  // Start-up has its own peak (the embedded store creates its database); the run's is measured from here.
  const startupPeakRssMb = Object.fromEntries(targets.map((t) => [t.key, megabytes(processMemory(t.pid)?.peakRssBytes)]));
  const peakReset = targets.every((t) => resetPeakMemory(t.pid));

  if (soakMode) {
    const connections = options.connections[0]!;
    const results = await soak(targets, options.soak!, connections, progress, measureOptions);
    machine.load_1m_after = round(loadavg()[0], 2);
    return {
      tables: [soakTable(results, connections, startupPeakRssMb)],
      json: { ok: true, mode: "soak", started_at: startedAt, machine, options: { alerts: options.soak, connections, stores: options.stores }, soak: results, startup_peak_rss_mb: startupPeakRssMb, peak_rss_since: peakReset ? "ready" : "start" },
    };
  }

  const loaded = new Map<string, number>();
  for (const plan of preloads) {
    const count = await progress.phase(
      `preloading ${plan.preload!.toLocaleString("en-US")} incidents into ${plan.key} through POST /api/alerts (${PRELOAD_CONNECTIONS} connections)`,
      (update) => preload(byKey.get(plan.key)!, plan.preload!, supervisor.signal, update),
      (n) => `${n.toLocaleString("en-US")} incidents loaded`,
    );
    loaded.set(plan.key, count);
  }

  await progress.phase(`warm-up, ${warmup} s per target`, async (update) => {
    for (const [i, target] of targets.entries()) {
      await closedLoop({ url: target.origin + target.path, headers: target.headers, bodies: target.bodies, connections: Math.max(...options.connections), seconds: warmup, signal: supervisor.signal });
      update((i + 1) / targets.length);
    }
  });

  // Sequential scans on each PostgreSQL ledger over the measured windows, per accepted alert.
  const scansBefore = withScanCounts ? await readScans(targets, progress, supervisor.signal) : new Map<string, SequentialScans>();
  const accepted = new Map(targets.map((t) => [t.key, 0]));

  // Targets in turn, the order reversed every other round.
  const inTurn = (r: number) => (r % 2 === 0 ? targets : [...targets].reverse());
  const closed: Series = new Map();
  for (const connections of options.connections) {
    const byTarget = new Map(targets.map((t) => [t.key, [] as Round[]]));
    closed.set(connections, byTarget);
    for (let r = 0; r < options.rounds; r += 1) {
      for (const target of inTurn(r)) {
        const measured = await progress.phase(
          `closed loop, ${connections} connections, round ${r + 1}/${options.rounds}: ${target.key}`,
          (update) =>
            measure(target, measureOptions, () =>
              closedLoop({ url: target.origin + target.path, headers: target.headers, bodies: target.bodies, connections, seconds: options.duration, signal: supervisor.signal, onProgress: (f, ok) => update(f, `${ok.toLocaleString("en-US")} ok`) }),
            ),
          summary,
        );
        accepted.set(target.key, accepted.get(target.key)! + measured.sample.ok);
        byTarget.get(target.key)!.push(toRound(r, measured));
      }
    }
    addRatios(byTarget);
  }

  const open: Series = new Map();
  const drainSeconds = Math.max(5, options.duration);
  for (const rate of options.rates) {
    const byTarget = new Map(targets.map((t) => [t.key, [] as Round[]]));
    open.set(rate, byTarget);
    for (let r = 0; r < options.rounds; r += 1) {
      for (const target of inTurn(r)) {
        const measured = await progress.phase(
          `open loop, ${rate.toLocaleString("en-US")} alerts/s, round ${r + 1}/${options.rounds}: ${target.key}`,
          (update) =>
            measure(target, measureOptions, () =>
              openLoop({ origin: target.origin, path: target.path, headers: target.headers, bodies: target.bodies, rate, seconds: options.duration, leadInSeconds: leadIn, sockets: OPEN_LOOP_SOCKETS, drainSeconds, signal: supervisor.signal, onProgress: (f, ok) => update(f, `${ok.toLocaleString("en-US")} ok`) }),
            ),
          openSummary,
        );
        accepted.set(target.key, accepted.get(target.key)! + measured.sample.ok);
        byTarget.get(target.key)!.push(toRound(r, measured));
      }
    }
  }

  machine.load_1m_after = round(loadavg()[0], 2);
  const seqScans: Record<string, { scans: number; rows_read_per_alert?: number }> = {};
  const scansAfter = withScanCounts ? await readScans(targets, progress, supervisor.signal) : new Map<string, SequentialScans>();
  for (const [key, before] of scansBefore) {
    const after = scansAfter.get(key)!;
    const alerts = accepted.get(key)!;
    seqScans[key] = { scans: after.scans - before.scans, rows_read_per_alert: alerts > 0 ? round((after.rowsRead - before.rowsRead) / alerts) : undefined };
  }
  // Peak memory since start (VmHWM), read while every process is still running.
  const peakRssMb = Object.fromEntries(targets.map((t) => [t.key, megabytes(processMemory(t.pid)?.peakRssBytes)]));
  // A floor answers 2xx only after its commit: it holds at least every body it answered in the windows (and the warm-up's).
  const floorStores = Object.fromEntries(
    await Promise.all(targets.filter((t) => t.kind === "floor").map(async (t) => [t.key, { stored: await floorStored(t), accepted: accepted.get(t.key)! }] as const)),
  );
  for (const [key, { stored, accepted: answered }] of Object.entries(floorStores)) {
    if (stored < answered) throw new Error(`${key} answered ${answered} alerts with 2xx but holds only ${stored}: its figures are not those of a durable commit`);
  }
  const closedJson = summariseSeries(closed);
  const openJson = Object.fromEntries(Object.entries(summariseSeries(open)).map(([rate, byTarget]) => [rate, Object.fromEntries(Object.entries(byTarget).map(([k, s]) => [k, { offered: Number(rate), ...s }]))]));
  const scale: Record<string, ScaleRatios> = Object.fromEntries(preloads.map((p) => [p.key.replace(/_full$/, ""), scaleRatios(closed, open, p.key, p.key.replace(/_full$/, ""), loaded.get(p.key)!)]));
  const noise: Record<string, NoiseReport> = Object.fromEntries(
    [...comparisons].map(([store, comparison]) => [store, { ...noiseRatios(closed, open, `${store}_noise`, `${store}_routed`), itsm_calls: comparison.itsmCalls() }]),
  );

  return {
    tables: comparisonTables({ duration: options.duration, rounds: options.rounds, sockets: OPEN_LOOP_SOCKETS, labels: new Map(targets.map((t) => [t.key, t.label])), closed: closedJson, open: openJson, peakRssMb, startupPeakRssMb, seqScans, scale, noise }),
    json: {
      ok: true,
      mode: options.quick ? "quick" : "bench",
      started_at: startedAt,
      machine,
      options: { duration_s: options.duration, rounds: options.rounds, connections: options.connections, rates: options.rates, stores: options.stores, scale_incidents: options.scale ?? null, noise: options.noise },
      alertmanager,
      closed: closedJson,
      open: openJson,
      floor_stored: floorStores,
      peak_rss_mb: peakRssMb,
      peak_rss_since: peakReset ? "ready" : "start",
      startup_peak_rss_mb: startupPeakRssMb,
      postgres_seq_scans: seqScans,
      ...(preloads.length > 0 ? { scale } : {}),
      ...(Object.keys(noise).length > 0 ? { noise } : {}),
    },
  };
}

async function main(): Promise<number> {
  let options: Options | "help";
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const supervisor = new Supervisor();
  process.on("uncaughtException", (error) => supervisor.fail(error));
  let outcome: Outcome | undefined;
  let failure: Error | undefined;
  try {
    outcome = await bench(options, supervisor);
  } catch (error) {
    // A child's death or a signal aborts the run; whatever then failed, that is the cause to report.
    failure = supervisor.signal.aborted ? (supervisor.signal.reason as Error) : (error as Error);
  }
  const stopping = performance.now();
  const problems = await supervisor.shutdown();
  process.stderr.write(`stopped every process the bench started and removed its data (${duration((performance.now() - stopping) / 1000)})\n`);
  for (const problem of problems) process.stderr.write(`cleanup: ${problem}\n`);
  if (failure) {
    process.stderr.write(`\nbench failed: ${failure.message}\n`);
    process.stdout.write(`${JSON.stringify({ ok: false, error: failure.message, cleanup_problems: problems })}\n`);
    return failure instanceof Interrupted ? (failure.signal === "SIGINT" ? 130 : 143) : 1;
  }
  process.stdout.write(`\n${outcome!.tables.join("\n\n")}\n\n`);
  process.stdout.write(`${JSON.stringify({ ...outcome!.json, ...(problems.length ? { cleanup_problems: problems } : {}) })}\n`);
  return problems.length ? 1 : 0;
}

// Exit explicitly: a failed run may leave sockets that would keep the process alive after everything it started is stopped.
process.exit(await main());
