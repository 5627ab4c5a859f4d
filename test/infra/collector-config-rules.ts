/**
 * The OpenTelemetry Collector's own rules for the configuration the sidecar gets (nothing here can
 * run the collector), applied to the rendered text:
 * - `${env:NAME}`: the env config provider expands it from the collector's environment; NAME must
 *   be an environment variable name (confmap/provider/envprovider: `^[a-zA-Z_][a-zA-Z0-9_]*$`),
 *   and a value left unset expands to nothing — so every name must be one the container sets or
 *   the runtime provides (HOSTNAME). Any other `${…}` is an unknown provider and fails the start.
 * - service.pipelines: every receiver, processor and exporter a pipeline names must be configured
 *   ("references receiver … which is not configured", otelcol service validation); each pipeline
 *   needs a receiver and an exporter.
 * - prometheus receiver, Prometheus' scrape_config (prometheus/prometheus config/config.go):
 *   job_name required and unique; scrape_interval and scrape_timeout are Prometheus durations
 *   (prometheus/common model/time.go ParseDuration: `^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$`,
 *   non-empty; "0" allowed) and the timeout may not exceed the interval ("scrape timeout greater
 *   than scrape interval"); static_configs targets are `host:port`.
 * - azuremonitor exporter: connection_string (or instrumentation_key) is required.
 */
import { parse } from "yaml";

const PROMETHEUS_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const ENV_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Set by the container runtime in every replica, not by the Container App's env list. */
const RUNTIME_VARIABLES = new Set(["HOSTNAME"]);

/** Milliseconds of a Prometheus duration, or undefined when it is not one. */
export function prometheusDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const match = PROMETHEUS_DURATION.exec(text);
  if (!text || !match) return undefined;
  const units = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];
  return units.reduce((sum, unit, i) => sum + Number(match[i + 1] ?? 0) * unit, 0);
}

type Section = Record<string, unknown>;

/** What the collector would refuse (or silently get wrong) in this configuration, given its container's variables. */
export function collectorConfigProblems(text: string, containerVariables: readonly string[]): string[] {
  const problems: string[] = [];
  for (const match of text.matchAll(/\$\{([^}]*)\}/g)) {
    const reference = /^env:(.*)$/.exec(match[1]!);
    if (!reference) problems.push(`\${${match[1]}} is not an env provider reference (\${env:NAME})`);
    else if (!ENV_NAME.test(reference[1]!)) problems.push(`\${env:${reference[1]}} does not name an environment variable`);
    else if (!containerVariables.includes(reference[1]!) && !RUNTIME_VARIABLES.has(reference[1]!)) problems.push(`\${env:${reference[1]}} names a variable the container does not set`);
  }
  const config = (parse(text) ?? {}) as Record<string, Section | undefined>;
  const pipelines = (config.service?.pipelines ?? {}) as Record<string, Record<string, string[] | undefined>>;
  if (Object.keys(pipelines).length === 0) problems.push("service.pipelines is empty: the collector does nothing");
  for (const [name, pipeline] of Object.entries(pipelines)) {
    for (const kind of ["receivers", "processors", "exporters"] as const) {
      for (const component of pipeline[kind] ?? []) {
        if (!config[kind] || !(component in config[kind]!)) problems.push(`service.pipelines.${name} references ${kind.slice(0, -1)} "${component}", which is not configured`);
      }
    }
    if (!pipeline.receivers?.length) problems.push(`service.pipelines.${name} has no receiver`);
    if (!pipeline.exporters?.length) problems.push(`service.pipelines.${name} has no exporter`);
  }
  const prometheus = (config.receivers?.prometheus as { config?: { scrape_configs?: Section[] } } | undefined)?.config;
  const jobs = new Set<string>();
  for (const [i, scrape] of (prometheus?.scrape_configs ?? []).entries()) {
    const at = `receivers.prometheus.config.scrape_configs[${i}]`;
    const job = scrape.job_name;
    if (typeof job !== "string" || !job) problems.push(`${at}.job_name is required`);
    else if (jobs.has(job)) problems.push(`${at}.job_name "${job}" is not unique`);
    else jobs.add(job);
    const durations: Record<string, number | undefined> = {};
    for (const key of ["scrape_interval", "scrape_timeout"]) {
      if (scrape[key] === undefined) continue;
      durations[key] = prometheusDuration(String(scrape[key]));
      if (durations[key] === undefined) problems.push(`${at}.${key} "${String(scrape[key])}" is not a Prometheus duration (e.g. 60s, 1m30s)`);
    }
    // Prometheus defaults: scrape_interval 1m, scrape_timeout 10s.
    const interval = durations.scrape_interval ?? 60_000;
    const timeout = durations.scrape_timeout ?? Math.min(10_000, interval);
    if (timeout > interval) problems.push(`${at}: scrape timeout greater than scrape interval`);
    for (const [j, statics] of ((scrape.static_configs as Array<{ targets?: unknown[] }>) ?? []).entries()) {
      for (const target of statics.targets ?? []) {
        if (typeof target !== "string" || !/^[^\s/:]+:\d{1,5}$/.test(target)) problems.push(`${at}.static_configs[${j}] target ${JSON.stringify(target)} is not host:port`);
      }
    }
  }
  const azuremonitor = config.exporters?.azuremonitor as Section | undefined;
  if (azuremonitor && !azuremonitor.connection_string && !azuremonitor.instrumentation_key) problems.push("exporters.azuremonitor needs connection_string");
  return problems;
}
