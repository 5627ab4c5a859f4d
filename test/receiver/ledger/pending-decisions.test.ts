/**
 * Group and storm decisions made after the intake's commit (docs/noise.md#when-noise-decisions-are-made),
 * pure: the intake stores such an alert with a `pending` hold and tells no ticket; its release then
 * sends it where deciding at once would have — into its group, or its own ticket opened and resolved
 * at once when it resolved meanwhile — and holds a person or a rule set are left as they were.
 */
import { describe, expect, it } from "vitest";
import { applyNotification } from "../../../receiver/src/incidents/lifecycle.ts";
import { ChangeSet, decidedAfterCommit, noNoise, type NoiseContext } from "../../../receiver/src/ledger/change-set.ts";
import type { PreparedNotification } from "../../../receiver/src/ledger/prepare-notification.ts";
import { incidentRecord, type StoredIncident } from "../../../receiver/src/store/incidents.ts";
import { stormCounterKey } from "../../../receiver/src/store/noise.ts";
import { wrapContext } from "../../support/fixtures.ts";
import { routed, serviceNowRules } from "../../support/ledger.ts";

const SUB = "1c1c1c1c-2d2d-3e3e-4f4f-5a5a5a5a5a5a";
const { rules, targets } = serviceNowRules([
  "noise:",
  "  - name: per-rule",
  "    match: { alertRules: [\"cpu\"] }",
  "    groupBy: [alertRule]",
  "    groupWait: 0s",
  "    groupInterval: 1m",
  "  - name: blips",
  "    match: { alertRules: [\"blip\"] }",
  "    holdFor: 5m",
  "storm:",
  "  - name: outage",
  "    match: { alertRules: [\"outage\"] }",
  "    maxNewTickets: 10",
  "    per: 10m",
]);
const NOW = new Date();
const LATER = new Date(NOW.getTime() + 50);

function arrival(n: number, rule: string, condition: "Fired" | "Resolved" = "Fired"): PreparedNotification {
  const payload = wrapContext("metric-static.json", {
    alertId: `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/pending-${n}`,
    alertRule: rule,
    monitorCondition: condition,
    firedDateTime: NOW.toISOString(),
    ...(condition === "Resolved" ? { resolvedDateTime: LATER.toISOString() } : {}),
    alertTargetIDs: [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-${n}`],
    configurationItems: [`vm-${n}`],
  });
  return routed(payload, rules, NOW);
}

/** What the intake's change set stores for a new arrival. */
function intake(n: PreparedNotification, id: string, before: StoredIncident | null = null): { changes: ChangeSet; incident: StoredIncident } {
  const changes = new ChangeSet(targets, NOW, noNoise(), { deferProblems: true });
  const decision = applyNotification(before, { alert: n.alert, notificationId: `n-${id}`, key: n.dedupKey });
  const incident = changes.record({ id, before, decision, bindings: [], routing: before ? null : n.routing ?? null, alert: n.alert });
  return { changes, incident };
}

/** What the release locks for a pending alert (ledger/noise-context.ts): its group key, its storm counters. */
function lockedFor(incident: StoredIncident): NoiseContext {
  const context = noNoise();
  const noise = incident.routing?.noise;
  if (noise?.groupId) context.lockedGroupKeys.add(noise.groupId);
  if (noise?.storm) for (const c of incident.routing!.connectors) context.counters.set(stormCounterKey(noise.storm.name, c), { storm: noise.storm.name, connector: c, opened: [], incidentId: null });
  return context;
}

describe("group and storm decisions after the intake's commit", () => {
  it("the intake stores a grouped alert with a pending hold, releasable at once, and tells no ticket", () => {
    const n = arrival(1, "cpu");
    expect(decidedAfterCommit(n.routing)).toBe(true);
    const { changes, incident } = intake(n, "a1");
    expect(incident.noise).toMatchObject({ holds: [{ kind: "pending", until: NOW.toISOString() }], dispatched: false });
    expect(incidentRecord(incident).held_until).toBe(NOW.toISOString());
    expect(incident.problemId).toBeNull();
    expect(changes.deliveries).toEqual([]);
    // Not a hold anyone set: the timeline says nothing of it.
    expect(changes.events.map((e) => e.type)).toEqual(["opened", "routed"]);
  });

  it("its release puts it in its group, as deciding at once would have, with no `released` line", () => {
    const { incident } = intake(arrival(2, "cpu"), "a2");
    const release = new ChangeSet(targets, LATER, lockedFor(incident));
    const after = release.release(incident, []);
    expect(after.problemId).not.toBeNull();
    expect(after.noise).toMatchObject({ holds: [], dispatched: true });
    const group = release.inserted.get(after.problemId!)!;
    expect(group).toMatchObject({ kind: "group", problem: { members: 1, open: 1 } });
    expect(release.events.filter((e) => e.incidentId === "a2").map((e) => e.type)).toEqual(["grouped"]);
    // groupWait 0s: the group's ticket opens with its first member, never the alert's own.
    expect(release.deliveries.map((d) => [d.incidentId, d.action])).toEqual([[group.id, "open"]]);
  });

  it("an alert that resolved before its decision still gets one: its own ticket opens and resolves at once", () => {
    const fired = arrival(3, "outage");
    const { incident } = intake(fired, "a3");
    // The Resolved arrives in the next batch, before the release: nothing is told yet.
    const { changes: second, incident: resolved } = intake(arrival(3, "outage", "Resolved"), "a3", incident);
    expect(resolved.state).toBe("resolved");
    expect(second.deliveries).toEqual([]);
    const release = new ChangeSet(targets, LATER, lockedFor(resolved));
    release.release(resolved, []);
    expect(release.deliveries.map((d) => [d.incidentId, d.action])).toEqual([["a3", "open"], ["a3", "resolve"]]);
  });

  it("an alert a rule holds keeps that hold alone, and a plain route is sent at once", () => {
    const held = intake(arrival(4, "blip"), "a4");
    expect(held.incident.noise?.holds.map((h) => h.kind)).toEqual(["transient"]);
    expect(held.changes.events.map((e) => e.type)).toEqual(["opened", "routed", "held"]);
    const plain = intake(arrival(5, "disk"), "a5");
    expect(decidedAfterCommit(arrival(5, "disk").routing)).toBe(false);
    expect(plain.incident.noise).toBeNull();
    expect(plain.changes.deliveries.map((d) => d.action)).toEqual(["open"]);
  });
});
