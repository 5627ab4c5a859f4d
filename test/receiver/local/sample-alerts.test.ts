/** What send-alert does to a sample: --new, --alert-id and --resolve. */
import { expect, it } from "vitest";
import { asNewAlert, asResolved, withAlertId } from "../../../receiver/local/sample-alerts.ts";
import { fixture } from "../../support/fixtures.ts";

const at = new Date("2026-12-06T12:00:00.000Z");

it("--new gives the sample a fresh alertId in Azure's form, fired now, and leaves the sample itself alone", () => {
  const sample = fixture("metric-static-fired.json");
  const first = asNewAlert(sample, at);
  const second = asNewAlert(sample, at);
  expect(first.data.essentials.alertId).toMatch(/^\/subscriptions\/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e\/providers\/Microsoft\.AlertsManagement\/alerts\/[0-9a-f-]{36}$/);
  expect(first.data.essentials.alertId).not.toBe(sample.data.essentials.alertId);
  expect(second.data.essentials.alertId).not.toBe(first.data.essentials.alertId);
  expect(first.data.essentials.firedDateTime).toBe(at.toISOString());
  expect(sample.data.essentials.alertId).toBe(fixture("metric-static-fired.json").data.essentials.alertId);
});

it("--new on a resolved sample fires it", () => {
  const fresh = asNewAlert(fixture("metric-static-resolved.json"), at);
  expect(fresh.data.essentials.monitorCondition).toBe("Fired");
  expect(fresh.data.essentials.resolvedDateTime).toBeUndefined();
});

it("--alert-id takes a full ARM id as it is, or the last segment of the sample's", () => {
  const sample = fixture("metric-static-fired.json");
  expect(withAlertId(sample, "1234").data.essentials.alertId).toBe("/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/providers/Microsoft.AlertsManagement/alerts/1234");
  expect(withAlertId(sample, "/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/y").data.essentials.alertId).toBe("/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/y");
});

it("--resolve turns it into the Resolved notification of the same alert", () => {
  const sample = fixture("metric-static-fired.json");
  const resolved = asResolved(sample, at);
  expect(resolved.data.essentials).toMatchObject({ alertId: sample.data.essentials.alertId, monitorCondition: "Resolved", resolvedDateTime: at.toISOString() });
});
