/**
 * The rules of the bench's noise comparison (docs/performance.md#noise-control): one ServiceNow
 * connector and a catch-all route for both receivers, and for one of them a realistic noise rule
 * set on top — the three recipes of docs/noise.md in one file.
 *
 * The connector is a ServiceNow fake of each side's own (test/fakes/servicenow-fake.ts), answering
 * every call after ITSM_LATENCY_MS as a busy hosted instance does, and the outbox delivers one at a
 * time. A connector that refuses at once (as the discard port did until 2026-12-07) turns each
 * receiver's outbox into a loop that spends CPU as fast as it can fail deliveries: the receiver
 * without noise rules, whose backlog is three times larger, put most of it off until after its
 * window, the one with them spent it inside, so the ratio measured the outboxes' schedules rather
 * than the intake. Against an ITSM that takes its time the outbox waits rather than works: each side
 * makes about two calls a second whatever its backlog (docs/performance.md), alike for both and,
 * during the other targets' windows, a background of well under 1 % of a core each.
 */
import { startServiceNowFake, type ServiceNowFake } from "../fakes/servicenow-fake.ts";
import type { Supervisor } from "./supervisor.ts";

/** A hosted ServiceNow instance's Table API answers in a few hundred milliseconds; the fake answers in this. */
const ITSM_LATENCY_MS = 300;

const connector = (itsm: ServiceNowFake) => `connectors:
  snow:
    kind: servicenow
    url: ${itsm.url}
    auth: { username: ${itsm.username}, passwordEnv: BENCH_SNOW_PASSWORD }
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

export interface NoiseComparison {
  /** The receiver's extra environment for each side of the comparison. */
  routed: Record<string, string>;
  noise: Record<string, string>;
  /** Calls the ITSM took from each side so far (each side has its own fake). */
  itsmCalls(): { routed: number; noise: number };
}

/** Starts one ServiceNow fake per side (closed at the bench's shutdown) and gives each side's environment. */
export async function startNoiseComparison(supervisor: Supervisor): Promise<NoiseComparison> {
  const [routed, noise] = await Promise.all([startServiceNowFake(), startServiceNowFake()]);
  for (const fake of [routed, noise]) {
    fake.delay(ITSM_LATENCY_MS);
    supervisor.defer("ServiceNow fake", () => fake.close());
  }
  const env = (fake: ServiceNowFake, rules = "") => ({ OUTBOX_CONCURRENCY: "1", BENCH_SNOW_PASSWORD: fake.password, ROUTING_RULES: connector(fake) + rules });
  return {
    routed: env(routed),
    noise: env(noise, NOISE),
    itsmCalls: () => ({ routed: routed.requests.length, noise: noise.requests.length }),
  };
}
