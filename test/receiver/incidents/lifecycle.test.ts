/** The incident state machine, case by case and as a property over orderings and duplications. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NormalisedAlert } from "../../../receiver/src/alerts/normalise.ts";
import {
  applyNotification,
  applyOperatorResolve,
  applyQuietPeriod,
  type Incident,
  type NotificationChange,
} from "../../../receiver/src/incidents/lifecycle.ts";

let sequence = 0;

function change(condition: "Fired" | "Resolved", at: { fired: string; resolved?: string }, extra: Partial<NormalisedAlert> = {}): NotificationChange {
  sequence += 1;
  const resolvedAt = condition === "Resolved" ? (at.resolved ?? null) : null;
  return {
    notificationId: String(sequence),
    key: `key-${condition}-${at.fired}-${at.resolved ?? ""}-${extra.severity ?? ""}`,
    alert: {
      alertId: "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/a1",
      monitorCondition: condition,
      monitoringService: "Platform",
      knownService: true,
      family: "metric",
      stateful: true,
      signalType: "Metric",
      severity: "Sev3",
      alertRule: "cpu-high",
      alertRuleId: null,
      title: "cpu-high",
      description: null,
      firedAt: at.fired,
      resolvedAt,
      occurredAt: resolvedAt ?? at.fired,
      targetResourceIds: [],
      affectedResourceIds: [],
      configurationItems: [],
      originAlertId: null,
      investigationLink: null,
      customProperties: null,
      details: {},
      ...extra,
    },
  };
}

function replay(changes: readonly NotificationChange[]): { incident: Incident | null; types: string[] } {
  let incident: Incident | null = null;
  const types: string[] = [];
  for (const c of changes) {
    const decision = applyNotification(incident, c);
    incident = decision.incident;
    types.push(...decision.events.map((e) => e.type));
  }
  return { incident, types };
}

const T0 = "2026-11-01T10:00:00.000Z";
const T1 = "2026-11-01T10:05:00.000Z";
const T2 = "2026-11-01T10:10:00.000Z";

describe("applyNotification", () => {
  it("Fired opens an incident", () => {
    const { incident, types } = replay([change("Fired", { fired: T0 })]);
    expect(incident).toMatchObject({ state: "open", resolution: null, firedAt: T0, resolvedAt: null });
    expect(types).toEqual(["opened"]);
  });

  it("Resolved resolves it with resolvedAt from resolvedDateTime", () => {
    const { incident, types } = replay([change("Fired", { fired: T0 }), change("Resolved", { fired: T0, resolved: T1 })]);
    expect(incident).toMatchObject({ state: "resolved", resolution: "alert", firedAt: T0, resolvedAt: T1 });
    expect(types).toEqual(["opened", "resolved"]);
  });

  it("Resolved before Fired ends resolved", () => {
    const { incident, types } = replay([change("Resolved", { fired: T0, resolved: T1 }), change("Fired", { fired: T0 })]);
    expect(incident).toMatchObject({ state: "resolved", firedAt: T0, resolvedAt: T1 });
    expect(types).toEqual(["opened", "resolved", "superseded"]);
  });

  it("the same notification twice changes nothing the second time", () => {
    const fired = change("Fired", { fired: T0 });
    const first = applyNotification(null, fired);
    const second = applyNotification(first.incident, fired);
    expect(second).toEqual({ incident: first.incident, events: [], changed: false });
  });

  it("an older event never overwrites a newer one", () => {
    const newer = change("Fired", { fired: T2 }, { severity: "Sev0", title: "newer" });
    const older = change("Fired", { fired: T1 }, { severity: "Sev4", title: "older" });
    const { incident } = replay([newer, older]);
    expect(incident).toMatchObject({ severity: "Sev0", title: "newer", firedAt: T1 });
  });

  it("a newer Fired reopens a resolved incident (a stateful alert firing again)", () => {
    const { incident, types } = replay([change("Fired", { fired: T0 }), change("Resolved", { fired: T0, resolved: T1 }), change("Fired", { fired: T2 })]);
    expect(incident).toMatchObject({ state: "open", resolution: null, resolvedAt: null, firedAt: T0 });
    expect(types).toEqual(["opened", "resolved", "reopened"]);
  });

  it("at the very same instant, Resolved wins over Fired in either order", () => {
    expect(replay([change("Fired", { fired: T1 }), change("Resolved", { fired: T0, resolved: T1 })]).incident?.state).toBe("resolved");
    expect(replay([change("Resolved", { fired: T0, resolved: T1 }), change("Fired", { fired: T1 })]).incident?.state).toBe("resolved");
  });

  it("compares the payload's times, not their spelling (7 fractional digits vs 3)", () => {
    const { incident } = replay([change("Resolved", { fired: "2019-03-22T13:58:24.3713213Z", resolved: "2019-03-22T14:03:16.2246313Z" }), change("Fired", { fired: "2019-03-22T13:58:24.371Z" })]);
    expect(incident?.state).toBe("resolved");
  });
});

describe("operator and quiet-period resolution", () => {
  const open = () => replay([change("Fired", { fired: T0 }, { family: "log", stateful: false })]).incident!;

  it("an operator resolves an open incident once, naming who by name, with their id beside it", () => {
    const decision = applyOperatorResolve(open(), T2, { name: "Olivia Operator", id: "oid-7" }, "noise");
    expect(decision.incident).toMatchObject({ state: "resolved", resolution: "operator", resolvedAt: T2 });
    expect(decision.events).toEqual([{ type: "resolved", at: T2, notificationId: null, actor: "Olivia Operator", detail: { resolution: "operator", actorId: "oid-7", note: "noise" } }]);
    expect(applyOperatorResolve(decision.incident, T2, { name: "oid-8", id: "oid-8" }, null)).toMatchObject({ changed: false, events: [] });
  });

  it("an application without a name is named by its id, once", () => {
    expect(applyOperatorResolve(open(), T2, { name: "app-1", id: "app-1" }, null).events).toEqual([
      { type: "resolved", at: T2, notificationId: null, actor: "app-1", detail: { resolution: "operator" } },
    ]);
  });

  it("a late copy of the firing does not reopen what an operator resolved", () => {
    const resolved = applyOperatorResolve(open(), T2, { name: "oid-7", id: "oid-7" }, null).incident;
    expect(applyNotification(resolved, change("Fired", { fired: T0 }, { family: "log" })).incident.state).toBe("resolved");
  });

  it("auto-resolves after the quiet period, at last change + period", () => {
    const incident = open();
    expect(applyQuietPeriod(incident, T1, 10 * 60_000)).toMatchObject({ changed: false });
    const decision = applyQuietPeriod(incident, T2, 10 * 60_000);
    expect(decision.incident).toMatchObject({ state: "resolved", resolution: "quiet_period", resolvedAt: T2 });
    // A newer firing after the quiet resolution opens it again.
    expect(applyNotification(decision.incident, change("Fired", { fired: "2026-11-01T11:00:00.000Z" }, { family: "log" })).incident.state).toBe("open");
  });
});

describe("convergence", () => {
  const times = ["2026-11-01T10:00:00.000Z", "2026-11-01T10:00:00.000Z", "2026-11-01T10:01:00.500Z", "2026-11-01T10:02:00.000Z", "2026-11-01T10:03:00.1234567Z"];
  const notification = fc
    .record({
      condition: fc.constantFrom("Fired" as const, "Resolved" as const),
      fired: fc.integer({ min: 0, max: 2 }),
      resolvedAfter: fc.integer({ min: 0, max: 2 }),
      severity: fc.constantFrom("Sev0" as const, "Sev2" as const, "Sev4" as const),
    })
    .map(({ condition, fired, resolvedAfter, severity }) =>
      change(condition, { fired: times[fired]!, resolved: times[fired + resolvedAfter]! }, { severity, title: `t-${severity}` }),
    );

  it("any ordering and duplication of the same notifications ends in the same incident", () => {
    fc.assert(
      fc.property(
        fc.array(notification, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.infiniteStream(fc.integer()),
        (originals, duplicateIndexes, seeds) => {
          const withDuplicates = [...originals, ...duplicateIndexes.map((i) => originals[i % originals.length]!)];
          const reference = replay(originals).incident;
          const shuffled = [...withDuplicates];
          const it = seeds[Symbol.iterator]();
          for (let i = shuffled.length - 1; i > 0; i -= 1) {
            const j = Math.abs(it.next().value as number) % (i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          expect(replay(shuffled).incident).toEqual(reference);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("the final state is the one of the newest notification by payload time", () => {
    fc.assert(
      fc.property(fc.array(notification, { minLength: 1, maxLength: 8 }), (changes) => {
        const incident = replay(changes).incident!;
        const newest = [...changes].sort((a, b) => Date.parse(a.alert.occurredAt) - Date.parse(b.alert.occurredAt) || (a.alert.monitorCondition === "Resolved" ? 1 : 0) - (b.alert.monitorCondition === "Resolved" ? 1 : 0) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).at(-1)!;
        expect(incident.state).toBe(newest.alert.monitorCondition === "Resolved" ? "resolved" : "open");
        expect(incident.severity).toBe(newest.alert.severity);
        expect(Date.parse(incident.firedAt)).toBe(Math.min(...changes.map((c) => Date.parse(c.alert.firedAt))));
      }),
      { numRuns: 1000 },
    );
  });
});
