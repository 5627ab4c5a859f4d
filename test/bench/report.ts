/**
 * From measured windows to what the bench prints: per-round figures, their medians across rounds
 * (ratios are taken per round, against the same round's ceiling and Alertmanager, and then the
 * median of those ratios is reported), text tables for people and one JSON object for machines.
 */
import type { OpenLoopSample } from "./open-loop.ts";
import type { Measured, WindowCpu } from "./measure.ts";
import type { LoadSample } from "./closed-loop.ts";
import { median, round } from "./stats.ts";

export interface Round {
  round: number;
  rps: number;
  p50?: number;
  p99?: number;
  non2xx: number;
  errors: number;
  cpu: WindowCpu;
  busyAfter?: number;
  ratioCeiling?: number;
  ratioAlertmanager?: number;
  /** Against the floor of the target's store (its durable commit alone). */
  ratioFloor?: number;
  /** Open loop only. */
  unfinished?: number;
  senderLagP99?: number;
  leadInP99?: number;
}

export function toRound(round: number, measured: Measured<LoadSample | OpenLoopSample>): Round {
  const sample = measured.sample;
  const open = "achievedRate" in sample ? sample : undefined;
  return {
    round,
    rps: open ? open.achievedRate : measured.rps,
    p50: measured.p50,
    p99: measured.p99,
    non2xx: sample.non2xx,
    errors: sample.errors,
    cpu: measured.cpu,
    busyAfter: measured.busyAfter,
    unfinished: open?.unfinished,
    senderLagP99: open?.senderLagP99Ms,
    leadInP99: open?.leadInP99Ms,
  };
}

/** The floor a target is measured against: its store's (pglite, pglite_noise, … → pglite_floor). */
const floorKey = (key: string): string | undefined => /^(pglite|postgres)(_|$)/.exec(key) ? `${key.split("_")[0]}_floor` : undefined;

/** Fills each round's ratios against the ceiling's, Alertmanager's and the store's floor's figures of the same round. */
export function addRatios(byTarget: Map<string, Round[]>): void {
  const ceiling = byTarget.get("ceiling") ?? [];
  const alertmanager = byTarget.get("alertmanager") ?? [];
  const ratio = (r: Round, to: Round | undefined) => (to && to.rps > 0 ? r.rps / to.rps : undefined);
  for (const [key, rounds] of byTarget) {
    const floor = byTarget.get(floorKey(key) ?? "") ?? [];
    for (const r of rounds) {
      r.ratioCeiling = ratio(r, ceiling.find((x) => x.round === r.round));
      r.ratioAlertmanager = ratio(r, alertmanager.find((x) => x.round === r.round));
      r.ratioFloor = ratio(r, floor.find((x) => x.round === r.round));
    }
  }
}

export interface Summary {
  rps?: number;
  ratio_ceiling?: number;
  ratio_alertmanager?: number;
  ratio_floor?: number;
  p50_ms?: number;
  p99_ms?: number;
  non2xx: number;
  errors: number;
  unfinished?: number;
  sender_lag_p99_ms?: number;
  /** p99 of the lead-in before the window: the start at the rate from idle. */
  lead_in_p99_ms?: number;
  cpu_us_per_alert?: number;
  pg_cpu_us_per_alert?: number;
  pg_idle_cores?: number;
  generator_cpu_us_per_alert?: number;
  busy_cores?: number;
  /** Seconds the target stayed busy after its window (put-off work: the outbox, the noise timer). */
  busy_after_s?: number;
  rounds: Array<Record<string, number | undefined>>;
}

export function summarise(rounds: Round[]): Summary {
  const m = (pick: (r: Round) => number | undefined, digits = 3) => round(median(rounds.map(pick)), digits);
  const open = rounds.some((r) => r.unfinished !== undefined);
  return {
    rps: m((r) => r.rps, 4),
    ratio_ceiling: m((r) => r.ratioCeiling),
    ratio_alertmanager: m((r) => r.ratioAlertmanager),
    ratio_floor: m((r) => r.ratioFloor),
    p50_ms: m((r) => r.p50),
    p99_ms: m((r) => r.p99),
    non2xx: rounds.reduce((a, r) => a + r.non2xx, 0),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    ...(open ? { unfinished: rounds.reduce((a, r) => a + (r.unfinished ?? 0), 0), sender_lag_p99_ms: m((r) => r.senderLagP99), lead_in_p99_ms: m((r) => r.leadInP99) } : {}),
    cpu_us_per_alert: m((r) => r.cpu.targetUs),
    pg_cpu_us_per_alert: m((r) => r.cpu.postgresUs),
    pg_idle_cores: m((r) => r.cpu.postgresIdleCores, 2),
    generator_cpu_us_per_alert: m((r) => r.cpu.generatorUs),
    busy_cores: m((r) => r.cpu.busyCores, 2),
    busy_after_s: m((r) => r.busyAfter, 2),
    rounds: rounds.map((r) => ({
      rps: round(r.rps, 4),
      ratio_ceiling: round(r.ratioCeiling),
      ratio_alertmanager: round(r.ratioAlertmanager),
      ratio_floor: round(r.ratioFloor),
      p50_ms: round(r.p50),
      p99_ms: round(r.p99),
      non2xx: r.non2xx,
    })),
  };
}

/** Aligned text columns; numbers right-aligned, blanks for what was not measured. */
export function table(headers: string[], rows: Array<Array<string | number | undefined>>): string {
  const cells = rows.map((row) => row.map((v) => (v === undefined ? "–" : typeof v === "number" ? v.toLocaleString("en-US") : v)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const numeric = headers.map((_, i) => rows.every((row) => typeof row[i] !== "string"));
  const line = (row: string[]) => row.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** Rounds by concurrency (closed loop) or by rate (open loop), then by target key. */
export type Series = Map<number, Map<string, Round[]>>;

export function summariseSeries(series: Series): Record<string, Record<string, Summary>> {
  return Object.fromEntries([...series].map(([k, byTarget]) => [k, Object.fromEntries([...byTarget].map(([key, rounds]) => [key, summarise(rounds)]))]));
}

export interface ScaleRatios {
  incidents: number;
  /** Per concurrency: req/s of the empty ledger ÷ req/s of the full one (> 1: full is slower). */
  closed_rps_empty_over_full: Record<string, number | undefined>;
  closed_p99_full_over_empty: Record<string, number | undefined>;
  /** Per rate. */
  open_p99_full_over_empty: Record<string, number | undefined>;
}

/** Full ledger against empty, per round (same moments of the machine), then the median of the ratios. */
export function scaleRatios(closed: Series, open: Series, fullKey: string, emptyKey: string, incidents: number): ScaleRatios {
  const ratios = (series: Series, pick: (full: Round, empty: Round) => number | undefined) =>
    Object.fromEntries(
      [...series].map(([k, byTarget]) => {
        const empty = byTarget.get(emptyKey) ?? [];
        const perRound = (byTarget.get(fullKey) ?? []).map((full) => {
          const base = empty.find((e) => e.round === full.round);
          return base ? pick(full, base) : undefined;
        });
        return [k, round(median(perRound))];
      }),
    );
  return {
    incidents,
    closed_rps_empty_over_full: ratios(closed, (full, empty) => (full.rps > 0 ? empty.rps / full.rps : undefined)),
    closed_p99_full_over_empty: ratios(closed, (full, empty) => (full.p99 && empty.p99 ? full.p99 / empty.p99 : undefined)),
    open_p99_full_over_empty: ratios(open, (full, empty) => (full.p99 && empty.p99 ? full.p99 / empty.p99 : undefined)),
  };
}

export interface NoiseRatios {
  /** Per concurrency: req/s with the noise rules ÷ req/s without (≥ 0.9 is the goal). */
  closed_rps_noise_over_routed: Record<string, number | undefined>;
  closed_p99_noise_over_routed: Record<string, number | undefined>;
  /** Per rate. */
  open_p99_noise_over_routed: Record<string, number | undefined>;
}

/** A store's noise comparison: the ratios, and the calls each side's ITSM (a ServiceNow fake) took over the run. */
export interface NoiseReport extends NoiseRatios {
  itsm_calls: { routed: number; noise: number };
}

/** The same routing with the noise rules against without them, per round (same moments of the machine), then the median. */
export function noiseRatios(closed: Series, open: Series, noiseKey: string, routedKey: string): NoiseRatios {
  const ratios = (series: Series, pick: (noise: Round, routed: Round) => number | undefined) =>
    Object.fromEntries(
      [...series].map(([k, byTarget]) => {
        const routed = byTarget.get(routedKey) ?? [];
        const perRound = (byTarget.get(noiseKey) ?? []).map((n) => {
          const base = routed.find((r) => r.round === n.round);
          return base ? pick(n, base) : undefined;
        });
        return [k, round(median(perRound))];
      }),
    );
  return {
    closed_rps_noise_over_routed: ratios(closed, (n, r) => (r.rps > 0 ? n.rps / r.rps : undefined)),
    closed_p99_noise_over_routed: ratios(closed, (n, r) => (n.p99 && r.p99 ? n.p99 / r.p99 : undefined)),
    open_p99_noise_over_routed: ratios(open, (n, r) => (n.p99 && r.p99 ? n.p99 / r.p99 : undefined)),
  };
}

export interface ComparisonReport {
  duration: number;
  rounds: number;
  sockets: number;
  labels: Map<string, string>;
  closed: Record<string, Record<string, Summary>>;
  open: Record<string, Record<string, Summary>>;
  /** Peak since the target was ready (VmHWM, reset then). */
  peakRssMb: Record<string, number | undefined>;
  /** Peak until it was ready. */
  startupPeakRssMb: Record<string, number | undefined>;
  /** Per PostgreSQL target, over the measured windows. */
  seqScans: Record<string, { scans: number; rows_read_per_alert?: number }>;
  scale: Record<string, ScaleRatios>;
  noise: Record<string, NoiseReport>;
}

export function comparisonTables(r: ComparisonReport): string[] {
  const label = (key: string) => r.labels.get(key) ?? key;
  const tables = [
    `Closed loop (unique alerts, ${r.duration} s × ${r.rounds} rounds; medians of per-round figures and ratios; CPU in µs per accepted alert)\n` +
      table(
        ["conns", "target", "req/s", "× ceiling", "× Alertmanager", "× floor", "p50 ms", "p99 ms", "CPU µs", "PG CPU µs", "gen CPU µs", "non-2xx", "errors", "busy after s"],
        Object.entries(r.closed).flatMap(([c, byTarget]) =>
          Object.entries(byTarget).map(([k, s]) => [Number(c), label(k), s.rps, s.ratio_ceiling, s.ratio_alertmanager, s.ratio_floor, s.p50_ms, s.p99_ms, s.cpu_us_per_alert, s.pg_cpu_us_per_alert, s.generator_cpu_us_per_alert, s.non2xx, s.errors, s.busy_after_s]),
        ),
      ),
    `Open loop (fixed rate, uniform arrivals, latency from each request's scheduled time; ${r.sockets} sockets at most; after a lead-in at the rate, whose p99 is shown apart)\n` +
      table(
        ["alerts/s", "target", "achieved/s", "p50 ms", "p99 ms", "lead-in p99 ms", "CPU µs", "PG CPU µs", "non-2xx", "errors", "unanswered", "sender lag p99 ms", "busy after s"],
        Object.entries(r.open).flatMap(([rate, byTarget]) =>
          Object.entries(byTarget).map(([k, s]) => [Number(rate), label(k), s.rps, s.p50_ms, s.p99_ms, s.lead_in_p99_ms, s.cpu_us_per_alert, s.pg_cpu_us_per_alert, s.non2xx, s.errors, s.unfinished, s.sender_lag_p99_ms, s.busy_after_s]),
        ),
      ),
    `Peak resident memory (VmHWM), under load (from readiness to the end) and during start-up\n${table(["target", "peak RSS MB", "start-up peak MB"], Object.entries(r.peakRssMb).map(([k, v]) => [label(k), v, r.startupPeakRssMb[k]]))}`,
  ];
  if (Object.keys(r.seqScans).length > 0) {
    tables.push(
      `PostgreSQL sequential scans over the measured windows (all tables of the receiver's database)\n` +
        table(["target", "seq scans", "rows read by them per alert"], Object.entries(r.seqScans).map(([k, v]) => [label(k), v.scans, v.rows_read_per_alert])),
    );
  }
  const noisy = Object.entries(r.noise);
  if (noisy.length > 0) {
    const connections = Object.keys(r.closed);
    const rates = Object.keys(r.open);
    tables.push(
      `Noise control: each store with a realistic noise rule set (grouping, holds, flapping, a storm guard) against the same routing without it (goal: req/s ratio ≥ 0.9)\n` +
        table(
          ["store", "measure", ...connections.map((c) => `c=${c}`), ...rates.map((rate) => `${rate}/s`)],
          noisy.flatMap(([store, s]) => [
            [store, "req/s noise ÷ without", ...connections.map((c) => s.closed_rps_noise_over_routed[c]), ...rates.map(() => undefined)],
            [store, "p99 noise ÷ without", ...connections.map((c) => s.closed_p99_noise_over_routed[c]), ...rates.map((rate) => s.open_p99_noise_over_routed[rate])],
          ]),
        ) +
        noisy.map(([store, s]) => `\n${store}: ServiceNow calls over the run, ${s.itsm_calls.noise.toLocaleString("en-US")} with the noise rules, ${s.itsm_calls.routed.toLocaleString("en-US")} without`).join(""),
    );
  }
  const scaled = Object.entries(r.scale);
  if (scaled.length > 0) {
    const connections = Object.keys(r.closed);
    const rates = Object.keys(r.open);
    tables.push(
      `Scale: each store pre-loaded with ${scaled[0]![1].incidents.toLocaleString("en-US")} incidents against the same store empty (goal: every ratio ≤ 1.2)\n` +
        table(
          ["store", "measure", ...connections.map((c) => `c=${c}`), ...rates.map((rate) => `${rate}/s`)],
          scaled.flatMap(([store, s]) => [
            [store, "req/s empty ÷ full", ...connections.map((c) => s.closed_rps_empty_over_full[c]), ...rates.map(() => undefined)],
            [store, "p99 full ÷ empty", ...connections.map((c) => s.closed_p99_full_over_empty[c]), ...rates.map((rate) => s.open_p99_full_over_empty[rate])],
          ]),
        ),
    );
  }
  return tables;
}
