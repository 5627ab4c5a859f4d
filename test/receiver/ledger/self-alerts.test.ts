/**
 * The receiver's own alerts (a missing heartbeat, an expiring credential) reach the ledger as any
 * Azure alert does: a valid common-alert notification, routed by the rules in effect, one incident
 * per condition that its "Resolved" resolves, and never refused by an admission allow-list.
 */
import { describe, expect, it } from "vitest";
import { SELF_MONITORING_SERVICE } from "../../../receiver/src/alerts/normalise.ts";
import { selfAlertPayload, type SelfAlert } from "../../../receiver/src/alerts/self-alert.ts";
import { validateAlert } from "../../../receiver/src/alerts/validate.ts";
import type { AcceptedNotification } from "../../../receiver/src/ledger/accept-notifications.ts";
import type { PreparedNotification } from "../../../receiver/src/ledger/prepare-notification.ts";
import { submitSelfAlert } from "../../../receiver/src/ledger/self-alerts.ts";
import { connectorsFromEnv } from "../../../receiver/src/connectors/kinds.ts";
import { parseRoutingRules } from "../../../receiver/src/routing/load-rules.ts";
import { normalised } from "../routing/routing-support.ts";

const missing = (condition: "Fired" | "Resolved"): SelfAlert => ({
  key: "heartbeat-missing",
  condition,
  rule: "secure-export heartbeat missing",
  severity: "Sev1",
  description: "No heartbeat arrived through the action group for 30 minutes",
  firedAt: new Date("2026-12-06T10:00:00Z"),
  ...(condition === "Resolved" ? { resolvedAt: new Date("2026-12-06T10:45:00Z") } : {}),
  properties: { actionGroup: "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/actionGroups/ag" },
});

const environment = connectorsFromEnv({ SERVICENOW_URL: "https://contoso.service-now.com", SERVICENOW_USERNAME: "svc", SERVICENOW_PASSWORD: "pw" });
const denyAll = parseRoutingRules(
  ["admission:", "  default: reject", "routes:", "  - name: receiver-own\n    match: { monitoringServices: [secure-export] }", "    to: [default]"].join("\n"),
  { variable: "ROUTING_RULES", environment, readSecret: () => "" },
);

/** An intake that records what it was given and answers as a commit would. */
function recordingIntake() {
  const submitted: PreparedNotification[] = [];
  return {
    submitted,
    async submit(n: PreparedNotification): Promise<AcceptedNotification> {
      submitted.push(n);
      return { admitted: true, notificationId: "n", duplicate: false, incidentId: "i", family: n.alert.family, events: [] };
    },
  };
}

describe("a self alert", () => {
  it("is a notification the webhook itself would accept, stateful, with the facts as custom properties", () => {
    const payload = selfAlertPayload(missing("Fired"));
    expect(validateAlert(payload).ok).toBe(true);
    const alert = normalised(payload);
    expect(alert).toMatchObject({ alertId: "secure-export/heartbeat-missing", monitoringService: SELF_MONITORING_SERVICE, family: "secure-export", stateful: true, knownService: true });
    expect(alert.customProperties).toEqual({ actionGroup: "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/actionGroups/ag" });
  });

  it("keeps its alertId from Fired to Resolved, so the Resolved resolves the same incident", () => {
    const fired = normalised(selfAlertPayload(missing("Fired")));
    const resolved = normalised(selfAlertPayload(missing("Resolved")));
    expect(resolved.alertId).toBe(fired.alertId);
    expect(resolved).toMatchObject({ monitorCondition: "Resolved", resolvedAt: "2026-12-06T10:45:00.000Z", firedAt: fired.firedAt });
  });

  it("refuses a Resolved without its end time", () => {
    expect(() => selfAlertPayload({ ...missing("Fired"), condition: "Resolved" })).toThrow(/resolvedAt/);
  });

  it("is routed by the rules but admitted even when the admission default rejects everything", async () => {
    const intake = recordingIntake();
    await submitSelfAlert(intake, denyAll, missing("Fired"), new Date("2026-12-06T10:00:00Z"));
    const routing = intake.submitted[0]!.routing!;
    expect(routing.admitted).toBe(true);
    expect(routing.connectors).toEqual(["default"]);
  });
});
