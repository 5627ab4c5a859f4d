/**
 * The rules of the bench's noise comparison (docs/performance.md#noise-control): one ServiceNow
 * connector and a catch-all route for both receivers, and for one of them a realistic noise rule
 * set on top — the three recipes of docs/noise.md in one file. The connector's URL answers nothing
 * (the discard port), and failed deliveries wait an hour: both receivers pay the same small outbox
 * cost per delivery, so what differs is the intake's noise decisions.
 */
const CONNECTOR = `connectors:
  snow:
    kind: servicenow
    url: http://127.0.0.1:9
    auth: { username: bench, passwordEnv: BENCH_SNOW_PASSWORD }
routes:
  - name: everything
    to: [snow]
`;

const NOISE = `noise:
  - name: per-rule-per-subscription
    match: { signalTypes: [Metric], severities: [Sev2, Sev3, Sev4] }
    groupBy: [alertRule, subscription]
    groupWait: 30s
    groupInterval: 5m
  - name: logs-held
    match: { signalTypes: [Log] }
    holdFor: 10m
  - name: activity-series
    match: { signalTypes: [Activity Log] }
    flapping: { changes: 4, within: 1h, quietFor: 30m }
storm:
  - name: regional-outage
    match: { monitoringServices: [Platform, "Log Alerts V2", "Resource Health"] }
    maxNewTickets: 20
    per: 5m
`;

const OUTBOX = { OUTBOX_CONCURRENCY: "1", OUTBOX_RETRY_BASE_SECONDS: "3600", OUTBOX_RETRY_MAX_SECONDS: "3600", BENCH_SNOW_PASSWORD: "bench" };

/** The receiver's extra environment for each side of the comparison. */
export const NOISE_COMPARISON = {
  routed: { ...OUTBOX, ROUTING_RULES: CONNECTOR },
  noise: { ...OUTBOX, ROUTING_RULES: CONNECTOR + NOISE },
} as const;
