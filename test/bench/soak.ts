/**
 * `npm run soak` (`bench.ts --soak N`): N alerts into each store's receiver, in the realistic mix
 * (new alerts, "Resolved" for alerts already fired, exact duplicates), with resident memory
 * sampled every second, so a plateau can be told from a leak. Reports the peak (VmHWM), the peak
 * of the first minute and the last sample.
 */
import { closedLoop } from "./closed-loop.ts";
import { measure, type MeasureOptions } from "./measure.ts";
import { mixedAlerts } from "./payloads.ts";
import { processMemory } from "./proc-stats.ts";
import type { Progress } from "./progress.ts";
import { table } from "./report.ts";
import { megabytes, round } from "./stats.ts";
import type { Target } from "./targets.ts";

const MIX = { resolvedShare: 0.2, duplicateShare: 0.1 };

export interface SoakResult {
  alerts: number;
  rps?: number;
  p50_ms?: number;
  p99_ms?: number;
  non2xx: number;
  errors: number;
  cpu_us_per_alert?: number;
  pg_cpu_us_per_alert?: number;
  peak_rss_mb?: number;
  first_minute_peak_rss_mb?: number;
  last_rss_mb?: number;
}

export async function soak(targets: Target[], alerts: number, connections: number, progress: Progress, measureOptions: MeasureOptions): Promise<Record<string, SoakResult>> {
  const results: Record<string, SoakResult> = {};
  for (const target of targets) {
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
              bodies: mixedAlerts(target.key, MIX),
              connections,
              amount: alerts,
              signal: measureOptions.signal,
              onProgress: (f, ok) => update(f, `${ok.toLocaleString("en-US")} ok`),
            }),
          ),
        (m) => `${Math.round(m.rps).toLocaleString("en-US")} req/s, p99 ${round(m.p99)} ms, peak RSS ${megabytes(processMemory(target.pid)?.peakRssBytes)} MB`,
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
      peak_rss_mb: megabytes(processMemory(target.pid)?.peakRssBytes),
      first_minute_peak_rss_mb: firstMinute.length ? megabytes(Math.max(...firstMinute)) : undefined,
      last_rss_mb: megabytes(samples.at(-1)?.rss),
    };
  }
  return results;
}

export function soakTable(results: Record<string, SoakResult>, connections: number, startupPeakRssMb: Record<string, number | undefined>): string {
  return (
    `Soak (${connections} connections; memory is the receiver's resident set: peak during the soak, peak of its first minute, last sample, and the peak of start-up)\n` +
    table(
      ["store", "alerts", "req/s", "p50 ms", "p99 ms", "CPU µs", "PG CPU µs", "non-2xx", "errors", "peak RSS MB", "1st-minute peak MB", "last RSS MB", "start-up peak MB"],
      Object.entries(results).map(([k, r]) => [k, r.alerts, r.rps, r.p50_ms, r.p99_ms, r.cpu_us_per_alert, r.pg_cpu_us_per_alert, r.non2xx, r.errors, r.peak_rss_mb, r.first_minute_peak_rss_mb, r.last_rss_mb, startupPeakRssMb[k]]),
    )
  );
}
