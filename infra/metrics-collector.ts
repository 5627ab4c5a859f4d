/**
 * The receiver's Prometheus metrics in Azure: an OpenTelemetry Collector sidecar scrapes
 * `127.0.0.1:{METRICS_PORT}/metrics` (containers of one Container App replica share localhost; the
 * metrics port is not behind the ingress) and sends the series to an Application Insights component
 * on the stack's Log Analytics workspace, where they land in `customMetrics`.
 *
 * Contracts (verified, cited in test/infra/metrics-collector.test.ts):
 * - `--config=env:NAME`: the collector's env config provider (opentelemetry.io/docs/collector/configuration);
 * - the image's ENTRYPOINT is /otelcol-contrib, so the container's `args` replace only its CMD
 *   (open-telemetry/opentelemetry-collector-releases distributions/otelcol-contrib/Dockerfile);
 * - the `azuremonitor` exporter takes `connection_string` and writes metrics to `customMetrics`
 *   (opentelemetry-collector-contrib exporter/azuremonitorexporter/README.md).
 */
import * as applicationinsights from "@pulumi/azure-native/applicationinsights/index.js";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";

/**
 * A published release (v0.139.0, November 2025), pinned by digest: a tag can be moved, a digest
 * cannot, so the sidecar's bytes change only with a commit here (the test cites where the digest
 * was seen).
 */
export const COLLECTOR_IMAGE = "otel/opentelemetry-collector-contrib:0.139.0@sha256:faf125d656fa47cea568b2f3b4494efd2525083bc75c1e96038bc23f05cd68fd";
export const COLLECTOR_CONFIG_VARIABLE = "OTELCOL_CONFIG";
export const CONNECTION_STRING_VARIABLE = "APPLICATIONINSIGHTS_CONNECTION_STRING";
export const CONNECTION_STRING_SECRET = "appinsights-connection-string";
/** The sidecar's share of the replica: Consumption sizes go in 0.25 vCPU / 0.5Gi steps. */
export const COLLECTOR_RESOURCES = { cpu: 0.25, memory: "0.5Gi" } as const;

/** The collector's whole configuration: scrape the receiver, export to Azure Monitor, nothing else. */
export function collectorConfig(metricsPort: number): string {
  return stringify({
    receivers: {
      prometheus: {
        config: {
          scrape_configs: [
            {
              job_name: "secure-export-receiver",
              scrape_interval: "60s",
              // Every replica scrapes 127.0.0.1: without a label of its own, their series would be indistinguishable.
              static_configs: [{ targets: [`127.0.0.1:${metricsPort}`], labels: { replica: "${env:HOSTNAME}" } }],
            },
          ],
        },
      },
    },
    exporters: {
      // Expanded by the collector from its own environment, where the value arrives as a Container App secret.
      azuremonitor: { connection_string: `\${env:${CONNECTION_STRING_VARIABLE}}` },
    },
    service: { pipelines: { metrics: { receivers: ["prometheus"], exporters: ["azuremonitor"] } } },
  });
}

/** The sidecar container of the receiver's Container App. */
export function collectorContainer(metricsPort: number) {
  return {
    name: "metrics-collector",
    image: COLLECTOR_IMAGE,
    args: [`--config=env:${COLLECTOR_CONFIG_VARIABLE}`],
    env: [
      { name: COLLECTOR_CONFIG_VARIABLE, value: collectorConfig(metricsPort) },
      { name: CONNECTION_STRING_VARIABLE, secretRef: CONNECTION_STRING_SECRET },
    ],
    resources: { ...COLLECTOR_RESOURCES },
  };
}

export interface MetricsComponentArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  /** The stack's Log Analytics workspace: a workspace-based component stores its data there. */
  workspaceId: pulumi.Input<string>;
}

/** The Application Insights component the metrics go to (workspace-based, created through the REST API). */
export function metricsComponent(name: string, args: MetricsComponentArgs, opts?: pulumi.CustomResourceOptions): applicationinsights.Component {
  return new applicationinsights.Component(
    name,
    {
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      kind: "other",
      applicationType: "other",
      ingestionMode: "LogAnalytics",
      workspaceResourceId: args.workspaceId,
      flowType: "Bluefield",
      requestSource: "rest",
    },
    opts,
  );
}
