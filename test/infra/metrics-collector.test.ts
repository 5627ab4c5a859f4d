/**
 * The collector sidecar against the collector's own contracts (nothing here can run the image):
 * - config from an environment variable: `--config=env:MY_CONFIG_IN_AN_ENVVAR`, the env provider
 *   (opentelemetry.io/docs/collector/configuration, "Location");
 * - the otelcol-contrib image runs ENTRYPOINT ["/otelcol-contrib"] with CMD ["--config", …], so a
 *   container's `args` replace the CMD only (open-telemetry/opentelemetry-collector-releases
 *   distributions/otelcol-contrib/Dockerfile);
 * - `azuremonitor` exporter settings: the properties of its published schema
 *   (opentelemetry-collector-releases distributions/otelcol-contrib/_build/schemas/exporter_azuremonitorexporter.json);
 *   metrics land in Application Insights' `customMetrics` (exporter/azuremonitorexporter/README.md);
 * - `prometheus` receiver: `config.scrape_configs[]`, Prometheus' own scrape configuration;
 * - image tag 0.139.0 published (Renovate: plengauer/Thoth#2339 "Update otel/opentelemetry-collector-contrib
 *   Docker tag to v0.139.0", open-telemetry/opentelemetry-helm-charts#1930), and its digest
 *   sha256:faf125d6…cd68fd as independent public projects pin it (testcontainers integration tests and
 *   Kubernetes manifests found by searching public GitHub code for "opentelemetry-collector-contrib:0.139.0@sha256").
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { COLLECTOR_CONFIG_VARIABLE, COLLECTOR_IMAGE, CONNECTION_STRING_SECRET, CONNECTION_STRING_VARIABLE, collectorContainer } from "../../infra/metrics-collector.ts";
import { METRICS_PORT, renderReceiverEnvironment } from "../../infra/receiver-environment.ts";
import { collectorConfigProblems, prometheusDuration } from "./collector-config-rules.ts";

const AZUREMONITOR_SETTINGS = [
  "clientconfig", "connection_string", "custom_events_enabled", "exception_events_enabled", "instrumentation_key",
  "maxbatchinterval", "maxbatchsize", "sending_queue", "shutdown_timeout", "spaneventsenabled",
];

describe("the metrics collector sidecar", () => {
  const container = collectorContainer(METRICS_PORT);
  const env = Object.fromEntries(container.env.map((e) => [e.name, e]));
  const config = parse((env[COLLECTOR_CONFIG_VARIABLE] as { value: string }).value);

  it("pins a published otelcol-contrib release by digest and reads its whole config from one variable through the env provider", () => {
    expect(COLLECTOR_IMAGE).toBe("otel/opentelemetry-collector-contrib:0.139.0@sha256:faf125d656fa47cea568b2f3b4494efd2525083bc75c1e96038bc23f05cd68fd");
    expect(container.args).toEqual([`--config=env:${COLLECTOR_CONFIG_VARIABLE}`]);
    expect(env[COLLECTOR_CONFIG_VARIABLE]).toHaveProperty("value");
  });

  it("scrapes the port the receiver is told to serve metrics on, over the replica's loopback, each replica labelled", () => {
    const receiverEnv = renderReceiverEnvironment({ tenantId: "t", appIdUri: "a", clientId: "c", database: { mode: "embedded" }, connectors: { extraEnvironment: {} }, secrets: {}, join: (p) => p.join("") }).env;
    expect(receiverEnv).toContainEqual({ name: "METRICS_PORT", value: String(METRICS_PORT) });
    expect(config.receivers.prometheus.config.scrape_configs).toEqual([
      expect.objectContaining({ static_configs: [{ targets: [`127.0.0.1:${METRICS_PORT}`], labels: { replica: "${env:HOSTNAME}" } }] }),
    ]);
  });

  it("exports with azuremonitor, its connection string expanded from a variable backed by the Container App secret", () => {
    expect(Object.keys(config.exporters.azuremonitor).every((key) => AZUREMONITOR_SETTINGS.includes(key))).toBe(true);
    expect(config.exporters.azuremonitor.connection_string).toBe(`\${env:${CONNECTION_STRING_VARIABLE}}`);
    expect(env[CONNECTION_STRING_VARIABLE]).toEqual({ name: CONNECTION_STRING_VARIABLE, secretRef: CONNECTION_STRING_SECRET });
  });

  it("wires exactly one metrics pipeline from defined components", () => {
    expect(config.service.pipelines).toEqual({ metrics: { receivers: ["prometheus"], exporters: ["azuremonitor"] } });
    for (const [kind, names] of Object.entries(config.service.pipelines.metrics) as Array<[string, string[]]>) {
      for (const name of names) expect(config[kind], `${kind}.${name}`).toHaveProperty(name);
    }
  });

  it("passes the collector's own configuration rules: env references it can expand, Prometheus durations, defined components", () => {
    const text = (env[COLLECTOR_CONFIG_VARIABLE] as { value: string }).value;
    expect(collectorConfigProblems(text, container.env.map((e) => e.name))).toEqual([]);
  });

  it("the rules refuse what the collector would: a duration in words, a timeout over the interval, an unset variable, a missing component", () => {
    expect([prometheusDuration("60s"), prometheusDuration("1m30s"), prometheusDuration("0"), prometheusDuration("60 seconds"), prometheusDuration("1.5m"), prometheusDuration("")]).toEqual([60_000, 90_000, 0, undefined, undefined, undefined]);
    const text = (env[COLLECTOR_CONFIG_VARIABLE] as { value: string }).value;
    const broken = text.replace("scrape_interval: 60s", "scrape_interval: 60 seconds\n          scrape_timeout: 2m").replace(`\${env:${CONNECTION_STRING_VARIABLE}}`, "${env:APPINSIGHTS}").replace("- azuremonitor", "- otlp");
    expect(collectorConfigProblems(broken, container.env.map((e) => e.name))).toEqual([
      "${env:APPINSIGHTS} names a variable the container does not set",
      'service.pipelines.metrics references exporter "otlp", which is not configured',
      'receivers.prometheus.config.scrape_configs[0].scrape_interval "60 seconds" is not a Prometheus duration (e.g. 60s, 1m30s)',
      "receivers.prometheus.config.scrape_configs[0]: scrape timeout greater than scrape interval",
    ]);
  });
});
