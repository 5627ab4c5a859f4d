/** Where a change goes (pure): never back to the ITSM it came from, to the Azure alert only for what Azure does not know, a new ticket under the `new` policy. */
import { describe, expect, it } from "vitest";
import { AZURE_ALERTS } from "../../../receiver/src/azure/alerts.ts";
import { applyItsmResolve, applyNotification, applyOperatorResolve, applyUpdate, type Incident } from "../../../receiver/src/incidents/lifecycle.ts";
import { ChangeSet } from "../../../receiver/src/ledger/change-set.ts";
import { correlationKey } from "../../../receiver/src/outbox/delivery.ts";
import { PLAIN, type StoredIncident } from "../../../receiver/src/store/incidents.ts";

const ALERT = "/subscriptions/0b1f6c2a-1111-4222-8333-444455556666/providers/Microsoft.AlertsManagement/alerts/00000001-aaaa-4bbb-8ccc-dddddddddddd";
const T0 = "2026-12-01T10:00:00.000Z";
const T1 = "2026-12-01T10:05:00.000Z";

function stored(incident: Incident, ticketGeneration = 1): StoredIncident {
  return { ...incident, id: "00000000-0000-4000-8000-000000000001", routing: null, hold: null, ...PLAIN, ticketGeneration };
}

function openIncident(): StoredIncident {
  const alert = { alertId: ALERT, monitorCondition: "Fired", monitoringService: "Platform", knownService: true, family: "metric", stateful: true, signalType: "Metric", severity: "Sev2", alertRule: "cpu", alertRuleId: null, title: "cpu", description: null, firedAt: T0, resolvedAt: null, occurredAt: T0, targetResourceIds: [], affectedResourceIds: [], configurationItems: [], originAlertId: null, investigationLink: null, customProperties: null, details: {} } as const;
  return stored(applyNotification(null, { alert: alert as never, notificationId: "1", key: "k1" }).incident);
}

const targets = (alertSync: boolean) => ({ connectors: ["prod", "helix"], maxAgeMs: 86_400_000, alertSync });

describe("ChangeSet deliveries of the closed loop", () => {
  it("a close in one ITSM resolves the other's ticket and closes the Azure alert, never echoing to its origin", () => {
    const before = openIncident();
    const changes = new ChangeSet(targets(true));
    const decision = applyItsmResolve(before, { at: T1, connector: "prod", ticket: "INC0010001", by: "jane.doe", state: "closed", closeCode: "Solution provided", note: null });
    decision.events.forEach((e) => Object.assign(e.detail, { tool: "ServiceNow" }));
    changes.record({ id: before.id, before, decision, bindings: [], origin: "prod" });
    expect(changes.deliveries.map((d) => [d.connector, d.action])).toEqual([["helix", "resolve"], [AZURE_ALERTS, "resolve"]]);
    expect(changes.deliveries[1]!.snapshot.said).toBe('Closed by jane.doe in ServiceNow (connector prod, ticket INC0010001), close code "Solution provided"');
  });

  it("sends nothing to Azure with AZURE_ALERT_SYNC off, or when Azure resolved the alert itself", () => {
    const before = openIncident();
    const off = new ChangeSet(targets(false));
    off.record({ id: before.id, before, decision: applyOperatorResolve(before, T1, { name: "olivia", id: "olivia" }, null), bindings: [] });
    expect(off.deliveries.map((d) => d.connector)).toEqual(["prod", "helix"]);
    const byAzure = new ChangeSet(targets(true));
    const resolved = applyNotification(before, { alert: { alertId: ALERT, monitorCondition: "Resolved", monitoringService: "Platform", family: "metric", signalType: "Metric", severity: "Sev2", alertRule: "cpu", title: "cpu", description: null, firedAt: T0, resolvedAt: T1, occurredAt: T1 } as never, notificationId: "2", key: "k2" });
    byAzure.record({ id: before.id, before, decision: resolved, bindings: [] });
    expect(byAzure.deliveries.map((d) => d.connector)).toEqual(["prod", "helix"]);
  });

  it("an acknowledgement notes every ticket and acknowledges the Azure alert", () => {
    const before = openIncident();
    const changes = new ChangeSet(targets(true));
    changes.record({ id: before.id, before, decision: applyUpdate(before, { type: "acknowledged", at: T1, by: "olivia", detail: { source: "operator" } }), bindings: [] });
    expect(changes.deliveries.map((d) => [d.connector, d.action])).toEqual([["prod", "acknowledge"], ["helix", "acknowledge"], [AZURE_ALERTS, "acknowledge"]]);
    expect(changes.updated.size).toBe(0);
  });

  it("under the `new` policy a refire opens a ticket of its own, found by its own correlation key", () => {
    const closed = stored(applyItsmResolve(openIncident(), { at: T1, connector: "prod", ticket: "INC0010001", by: "jane", state: "closed", closeCode: null, note: null }).incident);
    const refire = applyNotification(closed, { alert: { alertId: ALERT, monitorCondition: "Fired", monitoringService: "Platform", family: "metric", signalType: "Metric", severity: "Sev2", alertRule: "cpu", title: "cpu", description: null, firedAt: "2026-12-01T11:00:00.000Z", resolvedAt: null, occurredAt: "2026-12-01T11:00:00.000Z" } as never, notificationId: "3", key: "k3" }, "new");
    const changes = new ChangeSet(targets(false));
    const after = changes.record({ id: closed.id, before: closed, decision: refire, bindings: [] });
    expect(after.ticketGeneration).toBe(2);
    expect(changes.deliveries.map((d) => [d.connector, d.action, d.snapshot.correlationKey])).toEqual([
      ["prod", "open", correlationKey(ALERT, 2)],
      ["helix", "open", correlationKey(ALERT, 2)],
    ]);
    expect(correlationKey(ALERT, 2)).not.toBe(correlationKey(ALERT));
  });
});
