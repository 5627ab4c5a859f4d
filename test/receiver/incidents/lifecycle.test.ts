/** The incident state machine, case by case and as a property over orderings and duplications. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NormalisedAlert } from "../../../receiver/src/alerts/normalise.ts";
import {
  applyItsmReopen,
  applyItsmResolve,
  applyNotification,
  applyOperatorResolve,
  applyQuietPeriod,
  applyReconciliation,
  applyUpdate,
  type Incident,
  type ItsmClose,
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

describe("the closed loop", () => {
  const T3 = "2026-11-01T10:15:00.000Z";
  const open = () => replay([change("Fired", { fired: T0 })]).incident!;
  const close = (over: Partial<ItsmClose> = {}): ItsmClose => ({ at: T1, connector: "prod", ticket: "INC0010001", by: "jane.doe", state: "closed", closeCode: "Solution provided", note: null, ...over });
  const closedInItsm = () => applyItsmResolve(open(), close()).incident;

  it("a person's close in the ITSM resolves the incident by itsm, with who, where and the close code", () => {
    const decision = applyItsmResolve(open(), close());
    expect(decision.incident).toMatchObject({ state: "resolved", resolution: "itsm", resolvedAt: T1 });
    expect(decision.events).toEqual([
      { type: "resolved", at: T1, notificationId: null, actor: "jane.doe", detail: { resolution: "itsm", connector: "prod", ticket: "INC0010001", ticketState: "closed", closeCode: "Solution provided" } },
    ]);
    expect(applyItsmResolve(decision.incident, close({ at: T2 }))).toMatchObject({ changed: false, events: [] });
  });

  it("Azure's later Resolved changes nothing but the order: the incident stays resolved by itsm", () => {
    const after = applyNotification(closedInItsm(), change("Resolved", { fired: T0, resolved: T2 }));
    expect(after.incident).toMatchObject({ state: "resolved", resolution: "itsm", resolvedAt: T1 });
    expect(after.events.map((e) => [e.type, e.detail.alreadyResolvedBy])).toEqual([["details_updated", "itsm"]]);
    // Known by that order now: a firing between the person's close and Azure's resolve is older news.
    expect(applyNotification(after.incident, change("Fired", { fired: "2026-11-01T10:07:00.000Z" }), "reopen").incident.state).toBe("resolved");
  });

  it("an alert that fires again after a person closed it follows the route's policy", () => {
    const refire = change("Fired", { fired: T2 });
    const asNew = applyNotification(closedInItsm(), refire, "new");
    expect(asNew.incident).toMatchObject({ state: "open", resolution: null });
    expect(asNew.events.map((e) => [e.type, e.detail.policy])).toEqual([["reopened", "new"]]);
    const reopened = applyNotification(closedInItsm(), refire, "reopen");
    expect(reopened.events.map((e) => [e.type, e.detail.policy])).toEqual([["reopened", "reopen"]]);
    const noted = applyNotification(closedInItsm(), refire, "note");
    expect(noted.incident).toMatchObject({ state: "resolved", resolution: "itsm" });
    expect(noted.events.map((e) => e.type)).toEqual(["refired"]);
    // A copy of the firing the person already saw is not a refire.
    expect(applyNotification(closedInItsm(), change("Fired", { fired: T0 }), "reopen").incident.state).toBe("resolved");
  });

  it("after Azure's own resolve, a new firing reopens as before, whatever the policy", () => {
    const resolvedByAzure = replay([change("Fired", { fired: T0 }), change("Resolved", { fired: T0, resolved: T1 })]).incident!;
    const decision = applyNotification(resolvedByAzure, change("Fired", { fired: T2 }), "note");
    expect(decision.incident.state).toBe("open");
    expect(decision.events).toMatchObject([{ type: "reopened", detail: { monitorCondition: "Fired" } }]);
  });

  it("a ticket reopened in the ITSM reopens only what a person closed there", () => {
    const reopened = applyItsmReopen(closedInItsm(), { at: T2, connector: "prod", ticket: "INC0010001", by: "jane.doe" });
    expect(reopened.incident).toMatchObject({ state: "open", resolution: null, resolvedAt: null });
    expect(reopened.events.map((e) => e.type)).toEqual(["reopened"]);
    const resolvedByAzure = replay([change("Fired", { fired: T0 }), change("Resolved", { fired: T0, resolved: T1 })]).incident!;
    const noted = applyItsmReopen(resolvedByAzure, { at: T2, connector: "prod", ticket: "INC0010001", by: "mallory" });
    expect(noted).toMatchObject({ changed: false, incident: { state: "resolved", resolution: "alert" } });
    expect(noted.events.map((e) => e.type)).toEqual(["commented"]);
    expect(applyItsmReopen(open(), { at: T2, connector: "prod", ticket: "INC0010001", by: "x" })).toMatchObject({ changed: false, events: [] });
  });

  it("reconciliation resolves an open incident Azure reports resolved or closed, saying what Azure said", () => {
    const fired = { at: T3, monitorCondition: "Fired", alertState: "New", modifiedBy: "System" };
    expect(applyReconciliation(open(), fired)).toMatchObject({ changed: false, events: [] });
    const lost = applyReconciliation(open(), { ...fired, monitorCondition: "Resolved" });
    expect(lost.incident).toMatchObject({ state: "resolved", resolution: "reconciliation", resolvedAt: T3 });
    expect(lost.events).toMatchObject([{ type: "resolved", detail: { resolution: "reconciliation", monitorCondition: "Resolved", alertState: "New", modifiedBy: "System" } }]);
    expect(applyReconciliation(open(), { ...fired, alertState: "Closed", modifiedBy: "jane@contoso.com" }).incident.resolution).toBe("reconciliation");
    expect(applyReconciliation(lost.incident, { ...fired, monitorCondition: "Resolved" })).toMatchObject({ changed: false });
  });

  it("acknowledgements and assignments go to the timeline of open incidents; comments to any", () => {
    const ack = applyUpdate(open(), { type: "acknowledged", at: T1, by: "olivia", detail: { source: "operator" } });
    expect(ack).toMatchObject({ changed: false, incident: { state: "open" }, events: [{ type: "acknowledged", actor: "olivia" }] });
    expect(applyUpdate(closedInItsm(), { type: "acknowledged", at: T2, by: "olivia", detail: {} }).events).toEqual([]);
    expect(applyUpdate(closedInItsm(), { type: "commented", at: T2, by: "olivia", detail: { note: "root cause: disk" } }).events).toHaveLength(1);
  });
});
