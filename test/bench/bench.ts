/**
 * `npm run bench`: the receiver under load over loopback, compared in the same run with the
 * ceiling of a bare Fastify route and, when installed, Prometheus Alertmanager. Every system runs
 * as its own process (the receiver as the container image runs it) and is measured in turn, round
 * after round, so that ratios come from the same moments of a shared machine.
 *
 *   npm run bench                                  everything, about 10 minutes
 *   npm run bench -- --quick                       a smoke run, a few seconds per target
 *   npm run bench -- --stores=postgres --scale     adds the 1,000,000-incident comparison
 *   npm run soak                                   100,000 alerts per store, peak memory
 *
 * Progress goes to stderr; tables and, as the last line, one JSON object go to stdout.
 * README.md "Performance" describes every figure.
 */
import { cpus, loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { startLocalIssuer } from "../../receiver/local/local-issuer.ts";
import { closedLoop } from "./closed-loop.ts";
import { measure, type MeasureOptions } from "./measure.ts";
import { openLoop } from "./open-loop.ts";
import { mixedAlerts } from "./payloads.ts";
import { processMemory } from "./proc-stats.ts";
import { Progress, duration } from "./progress.ts";
import { addRatios, summarise, table, toRound, type Round, type Summary } from "./report.ts";
import { median, round } from "./stats.ts";
import { Interrupted, Supervisor } from "./supervisor.ts";
import {
  createBenchDatabase,
  alertmanagerVersion,
  checkPostgres,
  findAlertmanager,
  postgresIsLocal,
  startAlertmanager,
  startCeiling,
  startReceiver,
  type StartContext,
  type Store,
  type Target,
} from "./targets.ts";

const USAGE = `usage: npm run bench -- [options]        (or: node test/bench/bench.ts [options])

  --quick                 smoke run: 2 s windows, 1 round, 20 connections, 500 alerts/s
  --duration S            seconds per measured window (default 10; fractions allowed)
  --rounds N              rounds of every measurement, targets in turn, order reversed each round (default 3)
  --connections LIST      closed-loop concurrency, comma-separated (default 20,64)
  --rates LIST            open-loop fixed rates in alerts/s, comma-separated (default 500,1000,2000)
  --stores LIST           receiver stores: pglite,postgres (default both)
  --no-alertmanager       leave Alertmanager out even when it is installed
  --scale                 also measure each store pre-loaded with --incidents incidents
  --incidents N           incidents for --scale (default 1000000)
  --soak N                instead: send N alerts (a realistic mix) to each store and report memory
  --ready-timeout S       how long a process may take to become ready (default 180)
  --help

PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) names a server
where the bench may CREATE and DROP its own database. Alertmanager: the prometheus-alertmanager
binary on PATH (Debian: apt-get install prometheus-alertmanager), or ALERTMANAGER_BIN.`;

class UsageError extends Error {}

interface Options {
  quick: boolean;
  duration: number;
  rounds: number;
  connections: number[];
  rates: number[];
  stores: Store[];
  alertmanager: boolean;
  scale: number | undefined;
  soak: number | undefined;
  readyTimeout: number;
}

function parseOptions(argv: string[]): Options | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowNegative: true,
      options: {
        quick: { type: "boolean", default: false },
        duration: { type: "string" },
        rounds: { type: "string" },
        connections: { type: "string" },
        rates: { type: "string" },
        stores: { type: "string", default: "pglite,postgres" },
        alertmanager: { type: "boolean", default: true },
        scale: { type: "boolean", default: false },
        incidents: { type: "string", default: "1000000" },
        soak: { type: "string" },
        "ready-timeout": { type: "string", default: "180" },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.help) return "help";
  const positive = (name: string, raw: string, integer: boolean) => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new UsageError(`--${name} must be a positive ${integer ? "whole " : ""}number, got "${raw}"`);
    }
    return value;
  };
  const list = (name: string, raw: string) => raw.split(",").map((v) => positive(name, v.trim(), true));
  const quick = parsed.quick;
  const stores = parsed.stores.split(",").map((s) => s.trim());
  for (const store of stores) {
    if (store !== "pglite" && store !== "postgres") throw new UsageError(`--stores takes pglite and/or postgres, got "${store}"`);
  }
  return {
    quick,
    duration: positive("duration", parsed.duration ?? (quick ? "2" : "10"), false),
    rounds: positive("rounds", parsed.rounds ?? (quick ? "1" : "3"), true),
    connections: list("connections", parsed.connections ?? (quick ? "20" : "20,64")),
    rates: list("rates", parsed.rates ?? (quick ? "500" : "500,1000,2000")),
    stores: [...new Set(stores)] as Store[],
    alertmanager: parsed.alertmanager,
    scale: parsed.scale ? positive("incidents", parsed.incidents, true) : undefined,
    soak: parsed.soak === undefined ? undefined : positive("soak", parsed.soak, true),
    readyTimeout: positive("ready-timeout", parsed["ready-timeout"], false),
  };
}

/** Sockets the open-loop generator may open: enough to keep 2,000/s flowing through a 250 ms stall. */
const OPEN_LOOP_SOCKETS = 512;
/** Concurrency of the --scale preload: high, to fill the store fast (the store batches under load). */
const PRELOAD_CONNECTIONS = 128;
/** Rate assumed for the preload's first estimate; the progress line corrects it as it goes. */
const PRELOAD_ESTIMATE_PER_S = 1500;

const mb = (bytes: number | undefined) => (bytes === undefined || Number.isNaN(bytes) ? undefined : Math.round(bytes / 1_048_576));
const fmt = (v: number | undefined, digits = 3) => round(v, digits);

interface TargetPlan {
  key: string;
  start: (context: StartContext) => Promise<Target>;
  /** Incidents to load through the API before measuring (the --scale targets). */
  preload?: number;
}

async function bench(options: Options, supervisor: Supervisor): Promise<{ tables: string[]; json: Record<string, unknown> }> {
  const cores = cpus().length;
  const postgresLocal = postgresIsLocal();
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg()[0];
  const issuer = await startLocalIssuer();
  supervisor.defer("local issuer", () => issuer.close());
  const context: StartContext = { supervisor, readyTimeoutMs: options.readyTimeout * 1000, issuer };

  // What runs: the ceiling, Alertmanager when present, a receiver per store, and with --scale a
  // second receiver per store on a pre-loaded ledger.
  const soak = options.soak !== undefined;
  const plans: TargetPlan[] = [];
  const alertmanagerBinary = options.alertmanager && !soak ? findAlertmanager() : undefined;
  const alertmanager = soak
    ? undefined
    : alertmanagerBinary
      ? { status: "measured", binary: alertmanagerBinary, version: alertmanagerVersion(alertmanagerBinary) }
      : { status: options.alertmanager ? "skipped: not installed (apt-get install prometheus-alertmanager)" : "left out (--no-alertmanager)" };
  if (!soak) plans.push({ key: "ceiling", start: startCeiling });
  if (alertmanagerBinary) plans.push({ key: "alertmanager", start: (c) => startAlertmanager(c, alertmanagerBinary) });
  const receiverPlan = (key: string, store: Store, preload?: number): TargetPlan => ({
    key,
    preload,
    start: async (c) => startReceiver(c, key, store, store === "postgres" ? await createBenchDatabase(supervisor) : undefined),
  });
  for (const store of options.stores) plans.push(receiverPlan(store, store));
  if (options.scale && !soak) for (const store of options.stores) plans.push(receiverPlan(`${store}_full`, store, options.scale));
  if (alertmanager && !alertmanagerBinary) process.stderr.write(`Alertmanager ${alertmanager.status}\n`);

  const warmup = Math.min(3, Math.max(0.5, options.duration / 5));
  const baseline = options.quick ? 0.3 : 1;
  const drain = Math.max(5, options.duration);
  const perWindow = (plan: TargetPlan) => options.duration + (plan.key.startsWith("postgres") && postgresLocal ? baseline : 0);
  const planned: number[] = [options.stores.includes("pglite") ? 20 : 5];
  const preloads = plans.filter((p) => p.preload);
  for (const p of preloads) planned.push(p.preload! / PRELOAD_ESTIMATE_PER_S);
  if (soak) {
    for (const _ of plans) planned.push(options.soak! / 1000);
  } else {
    planned.push(warmup * plans.length);
    for (const _ of options.connections) for (let r = 0; r < options.rounds; r += 1) for (const p of plans) planned.push(perWindow(p));
    for (const _ of options.rates) for (let r = 0; r < options.rounds; r += 1) for (const p of plans) planned.push(perWindow(p) + 0.5);
  }
  const progress = new Progress(planned);
  const measureOptions: MeasureOptions = { postgresLocal, baselineSeconds: baseline, cores, signal: supervisor.signal };

  // Before any process starts: an unreachable server is the commonest mistake.
  if (options.stores.includes("postgres")) await checkPostgres();
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

  const scaleLoaded: Record<string, number> = {};
  for (const [i, plan] of preloads.entries()) {
    const target = byKey.get(plan.key)!;
    const wanted = plan.preload!;
    let loaded = 0;
    const startedPreload = performance.now();
    await progress.phase(
      `preloading ${wanted.toLocaleString("en-US")} incidents into ${plan.key} through POST /api/alerts (${PRELOAD_CONNECTIONS} connections)`,
      async (update) => {
        // Non-2xx answers (e.g. 503 under back-pressure) are sent again; three passes at most.
        for (let pass = 0; pass < 3 && loaded < wanted; pass += 1) {
          const before = loaded;
          const sample = await closedLoop({
            url: target.origin + target.path,
            headers: target.headers,
            bodies: target.bodies,
            connections: PRELOAD_CONNECTIONS,
            amount: wanted - loaded,
            signal: supervisor.signal,
            onProgress: (_f, ok) => update((before + ok) / wanted, `${(before + ok).toLocaleString("en-US")} incidents`),
          });
          loaded += sample.ok;
        }
        if (loaded < wanted) throw new Error(`${plan.key}: only ${loaded} of ${wanted} preload alerts were accepted after 3 passes`);
        return loaded;
      },
      (n) => `${n.toLocaleString("en-US")} incidents loaded`,
    );
    scaleLoaded[plan.key] = loaded;
    // The next preloads' estimates from this one's measured rate (phase 0 starts the targets).
    const rate = loaded / ((performance.now() - startedPreload) / 1000);
    for (let j = i + 1; j < preloads.length; j += 1) progress.replan(1 + j, preloads[j]!.preload! / rate);
  }

  if (soak) return soakRun(options, supervisor, progress, targets, measureOptions, { startedAt, cores, loadBefore });

  await progress.phase(`warm-up, ${warmup} s per target`, async (update) => {
    for (const [i, target] of targets.entries()) {
      await closedLoop({ url: target.origin + target.path, headers: target.headers, bodies: target.bodies, connections: Math.max(...options.connections), seconds: warmup, signal: supervisor.signal });
      update((i + 1) / targets.length);
    }
  });

  const inTurn = (r: number) => (r % 2 === 0 ? targets : [...targets].reverse());
  const closed = new Map<number, Map<string, Round[]>>();
  for (const connections of options.connections) {
    const byTarget = new Map<string, Round[]>(targets.map((t) => [t.key, []]));
    closed.set(connections, byTarget);
    for (let r = 0; r < options.rounds; r += 1) {
      for (const target of inTurn(r)) {
        const measured = await progress.phase(
          `closed loop, ${connections} connections, round ${r + 1}/${options.rounds}: ${target.key}`,
          (update) =>
            measure(target, measureOptions, () =>
              closedLoop({ url: target.origin + target.path, headers: target.headers, bodies: target.bodies, connections, seconds: options.duration, signal: supervisor.signal, onProgress: (f, ok) => update(f, `${ok.toLocaleString("en-US")} ok`) }),
            ),
          (m) => `${Math.round(m.rps).toLocaleString("en-US")} req/s, p50 ${fmt(m.p50)} ms, p99 ${fmt(m.p99)} ms${m.sample.non2xx + m.sample.errors ? `, ${m.sample.non2xx} non-2xx, ${m.sample.errors} errors` : ""}`,
        );
        byTarget.get(target.key)!.push(toRound(r, measured));
      }
    }
    addRatios(byTarget);
  }

  const open = new Map<number, Map<string, Round[]>>();
  for (const rate of options.rates) {
    const byTarget = new Map<string, Round[]>(targets.map((t) => [t.key, []]));
    open.set(rate, byTarget);
    for (let r = 0; r < options.rounds; r += 1) {
      for (const target of inTurn(r)) {
        const measured = await progress.phase(
          `open loop, ${rate.toLocaleString("en-US")} alerts/s, round ${r + 1}/${options.rounds}: ${target.key}`,
          (update) =>
            measure(target, measureOptions, () =>
              openLoop({ origin: target.origin, path: target.path, headers: target.headers, bodies: target.bodies, rate, seconds: options.duration, sockets: OPEN_LOOP_SOCKETS, drainSeconds: drain, signal: supervisor.signal, onProgress: (f, ok) => update(f, `${ok.toLocaleString("en-US")} ok`) }),
            ),
          (m) =>
            `${Math.round(m.sample.achievedRate).toLocaleString("en-US")}/s achieved, p50 ${fmt(m.p50)} ms, p99 ${fmt(m.p99)} ms${m.sample.non2xx + m.sample.errors + m.sample.unfinished ? `, ${m.sample.non2xx} non-2xx, ${m.sample.errors} errors, ${m.sample.unfinished} unanswered` : ""}`,
        );
        byTarget.get(target.key)!.push(toRound(r, measured));
      }
    }
  }

  // Peak memory since start (VmHWM), read while every process is still running.
  const peakRss = Object.fromEntries(targets.map((t) => [t.key, mb(processMemory(t.pid)?.peakRssBytes)]));

  const closedJson: Record<string, Record<string, Summary>> = {};
  for (const [c, byTarget] of closed) closedJson[c] = Object.fromEntries([...byTarget].map(([k, rounds]) => [k, summarise(rounds)]));
  const openJson: Record<string, Record<string, Summary & { offered: number }>> = {};
  for (const [rate, byTarget] of open) openJson[rate] = Object.fromEntries([...byTarget].map(([k, rounds]) => [k, { offered: rate, ...summarise(rounds) }]));

  // Full against empty, per round (same moments of the machine), then the median of the ratios.
  const scale: Record<string, unknown> = {};
  for (const plan of preloads) {
    const empty = plan.key.replace(/_full$/, "");
    const ratios = (series: Map<number, Map<string, Round[]>>, pick: (full: Round, base: Round) => number | undefined) =>
      Object.fromEntries(
        [...series].map(([k, byTarget]) => {
          const full = byTarget.get(plan.key)!;
          const base = byTarget.get(empty)!;
          return [k, round(median(full.map((f) => { const b = base.find((x) => x.round === f.round); return b ? pick(f, b) : undefined; })))];
        }),
      );
    scale[empty] = {
      incidents: scaleLoaded[plan.key],
      // > 1 means the full ledger is slower; the goal is at most 1.2.
      closed_rps_empty_over_full: ratios(closed, (f, b) => (f.rps > 0 ? b.rps / f.rps : undefined)),
      closed_p99_full_over_empty: ratios(closed, (f, b) => (f.p99 && b.p99 ? f.p99 / b.p99 : undefined)),
      open_p99_full_over_empty: ratios(open, (f, b) => (f.p99 && b.p99 ? f.p99 / b.p99 : undefined)),
    };
  }

  const label = (key: string) => byKey.get(key)!.label;
  const tables: string[] = [];
  tables.push(
    `Closed loop (unique alerts, ${options.duration} s × ${options.rounds} rounds; medians of per-round figures and ratios; CPU in µs per accepted alert)\n` +
      table(
        ["conns", "target", "req/s", "× ceiling", "× Alertmanager", "p50 ms", "p99 ms", "CPU µs", "PG CPU µs", "gen CPU µs", "non-2xx", "errors"],
        [...closed].flatMap(([c, byTarget]) =>
          [...byTarget.keys()].map((k) => {
            const s = closedJson[c]![k]!;
            return [c, label(k), s.rps, s.ratio_ceiling, s.ratio_alertmanager, s.p50_ms, s.p99_ms, fmt(s.cpu_us_per_alert), fmt(s.pg_cpu_us_per_alert), fmt(s.generator_cpu_us_per_alert), s.non2xx, s.errors];
          }),
        ),
      ),
  );
  tables.push(
    `Open loop (fixed rate, uniform arrivals, latency from each request's scheduled time; ${OPEN_LOOP_SOCKETS} sockets at most)\n` +
      table(
        ["alerts/s", "target", "achieved/s", "p50 ms", "p99 ms", "CPU µs", "PG CPU µs", "non-2xx", "errors", "unanswered", "sender lag p99 ms"],
        [...open].flatMap(([rate, byTarget]) =>
          [...byTarget.keys()].map((k) => {
            const s = openJson[rate]![k]!;
            return [rate, label(k), s.rps, s.p50_ms, s.p99_ms, fmt(s.cpu_us_per_alert), fmt(s.pg_cpu_us_per_alert), s.non2xx, s.errors, s.unfinished, s.sender_lag_p99_ms];
          }),
        ),
      ),
  );
  tables.push(`Peak resident memory (VmHWM) over the whole run\n${table(["target", "peak RSS MB"], targets.map((t) => [t.label, peakRss[t.key]]))}`);
  if (preloads.length > 0) {
    tables.push(
      `Scale: ${options.scale!.toLocaleString("en-US")} incidents against the empty ledger (goal: both ratios ≤ 1.2)\n` +
        table(
          ["store", "measure", ...options.connections.map((c) => `c=${c}`), ...options.rates.map((r) => `${r}/s`)],
          Object.entries(scale).flatMap(([store, s]: [string, any]) => [
            [store, "req/s empty ÷ full", ...options.connections.map((c) => s.closed_rps_empty_over_full[c]), ...options.rates.map(() => undefined)],
            [store, "p99 full ÷ empty", ...options.connections.map((c) => s.closed_p99_full_over_empty[c]), ...options.rates.map((r) => s.open_p99_full_over_empty[r])],
          ]),
        ),
    );
  }

  return {
    tables,
    json: {
      ok: true,
      mode: options.quick ? "quick" : "bench",
      started_at: startedAt,
      machine: { cores, load_1m_before: round(loadBefore, 2), postgres_cpu_measured: postgresLocal },
      options: { duration_s: options.duration, rounds: options.rounds, connections: options.connections, rates: options.rates, stores: options.stores, scale_incidents: options.scale ?? null },
      alertmanager,
      closed: closedJson,
      open: openJson,
      peak_rss_mb: peakRss,
      ...(preloads.length > 0 ? { scale } : {}),
    },
  };
}

async function soakRun(
  options: Options,
  supervisor: Supervisor,
  progress: Progress,
  targets: Target[],
  measureOptions: MeasureOptions,
  meta: { startedAt: string; cores: number; loadBefore: number | undefined },
): Promise<{ tables: string[]; json: Record<string, unknown> }> {
  const alerts = options.soak!;
  const connections = options.connections[0]!;
  const results: Record<string, Record<string, unknown>> = {};
  for (const target of targets) {
    // Resident memory every second, to tell a plateau from a leak.
    const samples: Array<{ at: number; rss: number }> = [];
    const started = performance.now();
    const sampler = setInterval(() => {
      const memory = processMemory(target.pid);
      if (memory) samples.push({ at: performance.now() - started, rss: memory.rssBytes });
    }, 1000);
    let measured;
    try {
      measured = await progress.phase(
        `soak: ${alerts.toLocaleString("en-US")} alerts (20 % resolves, 10 % duplicates) into ${target.key}, ${connections} connections`,
        (update) =>
          measure(target, measureOptions, () =>
            closedLoop({
              url: target.origin + target.path,
              headers: target.headers,
              bodies: mixedAlerts(target.key, { resolvedShare: 0.2, duplicateShare: 0.1 }),
              connections,
              amount: alerts,
              signal: supervisor.signal,
              onProgress: (f, ok) => update(f, `${ok.toLocaleString("en-US")} ok`),
            }),
          ),
        (m) => `${Math.round(m.rps).toLocaleString("en-US")} req/s, p99 ${fmt(m.p99)} ms, peak RSS ${mb(processMemory(target.pid)?.peakRssBytes)} MB`,
      );
    } finally {
      clearInterval(sampler);
    }
    const firstMinute = samples.filter((s) => s.at <= 60_000).map((s) => s.rss);
    results[target.key] = {
      alerts,
      rps: round(measured.rps, 4),
      p50_ms: round(measured.p50),
      p99_ms: round(measured.p99),
      non2xx: measured.sample.non2xx,
      errors: measured.sample.errors,
      cpu_us_per_alert: round(measured.cpu.targetUs),
      pg_cpu_us_per_alert: round(measured.cpu.postgresUs),
      peak_rss_mb: mb(processMemory(target.pid)?.peakRssBytes),
      first_minute_peak_rss_mb: firstMinute.length ? mb(Math.max(...firstMinute)) : undefined,
      last_rss_mb: mb(samples.at(-1)?.rss),
    };
  }
  const rows = Object.entries(results).map(([k, r]: [string, any]) => [k, r.alerts, r.rps, r.p50_ms, r.p99_ms, r.non2xx, r.errors, r.peak_rss_mb, r.first_minute_peak_rss_mb, r.last_rss_mb]);
  return {
    tables: [`Soak (${connections} connections)\n${table(["store", "alerts", "req/s", "p50 ms", "p99 ms", "non-2xx", "errors", "peak RSS MB", "1st-minute peak MB", "last RSS MB"], rows)}`],
    json: {
      ok: true,
      mode: "soak",
      started_at: meta.startedAt,
      machine: { cores: meta.cores, load_1m_before: round(meta.loadBefore, 2) },
      options: { alerts, connections, stores: options.stores },
      soak: results,
    },
  };
}

async function main(): Promise<number> {
  let options: Options | "help";
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const supervisor = new Supervisor();
  process.on("uncaughtException", (error) => supervisor.fail(error));
  let outcome: { tables: string[]; json: Record<string, unknown> } | undefined;
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

process.exitCode = await main();
// Sockets left by a failed run must not keep the process alive once everything is stopped.
await sleep(0);
process.exit();
