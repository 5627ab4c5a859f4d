/**
 * Alert bodies for load, built from the published Azure Monitor samples in test/fixtures.
 *
 * - `uniqueAlerts`: every body a new alert (a fresh alertId), rotating over the "Fired" samples.
 *   Each sample is serialised once with a placeholder, so a body costs one string concatenation:
 *   the load generator shares the CPU with what it measures and must stay cheap.
 * - `alertmanagerAlerts`: the same alerts in Prometheus Alertmanager's POST /api/v2/alerts shape
 *   (an array of {labels, annotations, startsAt}); the alertId is a label, so every alert is new to
 *   Alertmanager too (it deduplicates by the label set).
 * - `mixedAlerts`: the soak's realistic mix: new alerts, "Resolved" for alerts already fired, and
 *   exact duplicates (Azure delivers at least once).
 */
import { randomBytes } from "node:crypto";
import { fixture, fixtureNames } from "../support/fixtures.ts";

const PLACEHOLDER = "__secure_export_bench_alert_id__";
const SUBSCRIPTION = "00000000-0000-4000-8000-00000000be0c";

export type Bodies = () => string;

function firedSamples(): any[] {
  return fixtureNames()
    .map(fixture)
    .filter((p) => p.data.essentials.monitorCondition === "Fired");
}

/** A prefix no earlier run used, so bodies stay unique on a database that outlives one run. */
function runPrefix(name: string): string {
  return `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.AlertsManagement/alerts/bench-${name}-${randomBytes(4).toString("hex")}-`;
}

/** Splits the serialised sample around the alertId placeholder. */
function template(serialised: string): [string, string] {
  const at = serialised.indexOf(PLACEHOLDER);
  return [serialised.slice(0, at), serialised.slice(at + PLACEHOLDER.length)];
}

/** Bodies from the templates in turn, each with an alert id no other body of any run has. */
function numbered(templates: [string, string][], name: string): Bodies {
  const prefix = runPrefix(name);
  let n = 0;
  return () => {
    n += 1;
    const [before, after] = templates[n % templates.length]!;
    return before + prefix + n + after;
  };
}

export function uniqueAlerts(name: string): Bodies {
  const templates = firedSamples().map((sample) => {
    sample.data.essentials.alertId = PLACEHOLDER;
    return template(JSON.stringify(sample));
  });
  return numbered(templates, name);
}

export function alertmanagerAlerts(name: string): Bodies {
  const templates = firedSamples().map(({ data: { essentials: e } }) =>
    template(
      JSON.stringify([
        {
          labels: {
            alertname: e.alertRule ?? "budget",
            alertId: PLACEHOLDER,
            severity: e.severity ?? "Sev4",
            monitoringService: e.monitoringService,
            signalType: e.signalType,
            target: e.alertTargetIDs?.[0] ?? "",
          },
          annotations: { description: e.description ?? "", configurationItems: (e.configurationItems ?? []).join(",") },
          startsAt: e.firedDateTime,
        },
      ]),
    ),
  );
  return numbered(templates, name);
}

export interface Mix {
  resolvedShare: number;
  duplicateShare: number;
}

export function mixedAlerts(name: string, mix: Mix, seed = 1): Bodies {
  const samples = firedSamples();
  const prefix = runPrefix(name);
  let state = seed;
  const random = () => {
    // Deterministic, so two runs send the same mix.
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const sent: string[] = [];
  const fired: any[] = [];
  let n = 0;
  return () => {
    const roll = random();
    let body: string;
    if (roll < mix.duplicateShare && sent.length > 0) {
      body = sent[Math.floor(random() * sent.length)]!;
    } else if (roll < mix.duplicateShare + mix.resolvedShare && fired.length > 0) {
      const resolved = structuredClone(fired[Math.floor(random() * fired.length)]);
      resolved.data.essentials.monitorCondition = "Resolved";
      resolved.data.essentials.resolvedDateTime = new Date(Date.parse(resolved.data.essentials.firedDateTime) + 300_000).toISOString();
      body = JSON.stringify(resolved);
    } else {
      n += 1;
      const alert = structuredClone(samples[n % samples.length]);
      alert.data.essentials.alertId = prefix + n;
      alert.data.essentials.firedDateTime = new Date(Date.UTC(2026, 10, 1) + n * 1000).toISOString();
      if (fired.length < 10_000) fired.push(alert);
      body = JSON.stringify(alert);
    }
    if (sent.length < 10_000) sent.push(body);
    return body;
  };
}
