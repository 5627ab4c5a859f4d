/**
 * Alert bodies for load: the published samples with unique alertIds, a share of "Resolved" for
 * alerts already fired, and a share of exact duplicates (Azure's at-least-once delivery).
 */
import { fixture, fixtureNames } from "../support/fixtures.ts";

export interface PayloadMix {
  resolvedShare: number;
  duplicateShare: number;
}

export function payloadStream(mix: PayloadMix, seed = 1): () => string {
  const templates = fixtureNames().map(fixture).filter((p) => p.data.essentials.monitorCondition === "Fired");
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
      const alert = structuredClone(templates[n % templates.length]);
      alert.data.essentials.alertId = `/subscriptions/00000000-0000-4000-8000-00000000be0c/providers/Microsoft.AlertsManagement/alerts/bench-${seed}-${n}`;
      alert.data.essentials.firedDateTime = new Date(Date.UTC(2026, 10, 1) + n * 1000).toISOString();
      if (fired.length < 10_000) fired.push(alert);
      body = JSON.stringify(alert);
    }
    if (sent.length < 10_000) sent.push(body);
    return body;
  };
}
