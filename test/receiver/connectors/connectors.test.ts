/** Connector decisions that need no server: retry timing, texts, correlation keys, configuration. */
import { describe, expect, it } from "vitest";
import { connectorsFromEnv } from "../../../receiver/src/connectors/kinds.ts";
import { actionsFor, correlationKey, type IncidentSnapshot } from "../../../receiver/src/outbox/delivery.ts";
import { retryAfterMs } from "../../../receiver/src/network-errors.ts";
import { clip, incidentDescription, listed, resolutionText, shortResourceId, shortTitle } from "../../../receiver/src/connectors/incident-text.ts";
import { retryDelayMs } from "../../../receiver/src/outbox/retry-policy.ts";

describe("retryDelayMs", () => {
  const config = { retryBaseMs: 1000, retryMaxMs: 60_000 };
  it("doubles per attempt within [half, whole] of the backoff, capped", () => {
    expect(retryDelayMs(1, config, undefined, () => 0)).toBe(500);
    expect(retryDelayMs(1, config, undefined, () => 1)).toBe(1000);
    expect(retryDelayMs(4, config, undefined, () => 0)).toBe(4000);
    expect(retryDelayMs(30, config, undefined, () => 1)).toBe(60_000);
  });
  it("never retries sooner than Retry-After", () => {
    expect(retryDelayMs(1, config, 30_000, () => 0.5)).toBe(30_000);
  });
  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs(new Headers({ "retry-after": "7" }))).toBe(7000);
    expect(retryAfterMs(new Headers({ "retry-after": new Date(10_000).toUTCString() }), 4000)).toBe(6000);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});

describe("delivery contents", () => {
  const snapshot: IncidentSnapshot = {
    incidentId: "i", alertId: "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/1", correlationKey: correlationKey("x"), title: "cpu high on vm1",
    description: "CPU over 90%", severity: "Sev1", monitoringService: "Platform", signalType: "Metric", alertRule: "cpu-high", firedAt: "2026-11-01T10:00:00.000Z",
    resolvedAt: "2026-11-01T10:30:00.000Z", resolution: "alert", resources: [{ resourceId: "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1", name: "vm1", providerType: "microsoft.compute/virtualmachines" }],
    unboundCis: ["printer-7"], resourceCount: 0, unboundCount: 0, fields: {}, note: null,
  };

  it("keys correlation by alert, stably, in far fewer than ServiceNow's 100 characters", () => {
    const key = correlationKey("/subscriptions/S/providers/Microsoft.AlertsManagement/alerts/ABC");
    expect(key).toBe(correlationKey("/subscriptions/s/providers/microsoft.alertsmanagement/alerts/abc"));
    expect(key).toMatch(/^azmon-[0-9a-f]{40}$/);
    expect(key).not.toBe(correlationKey("/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/abd"));
  });

  it("describes the alert with its essentials and a link back to Azure", () => {
    const text = incidentDescription(snapshot, 4000);
    expect(text).toContain("Severity: Sev1 | Monitoring service: Platform | Signal: Metric");
    expect(text).toContain("Resources: /subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1");
    expect(text).toContain("Configuration items without a resource id: printer-7");
    expect(text).toContain(`https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId/${encodeURIComponent(snapshot.alertId)}`);
    expect(shortTitle(snapshot, 160)).toBe("[Sev1] cpu high on vm1");
    expect(shortTitle({ ...snapshot, title: "x".repeat(300) }, 100)).toBe(`[Sev1] ${"x".repeat(92)}…`);
  });

  it("describes the receiver's own alert as its own, with its facts and no Azure link", () => {
    const text = incidentDescription({ ...snapshot, monitoringService: "secure-export", alertId: "secure-export/heartbeat-missing", title: "secure-export heartbeat missing", description: "No heartbeat for 30 minutes\nactionGroup: ag" }, 4000);
    expect(text.split("\n")[0]).toBe("secure-export alert: secure-export heartbeat missing");
    expect(text).toContain("actionGroup: ag");
    expect(text).not.toContain("portal.azure.com");
  });

  it("keeps a huge alert's description within the field, its essentials first and lists capped", () => {
    const resources = Array.from({ length: 15_000 }, (_, i) => ({ resourceId: `/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm${i}`, name: `vm${i}`, providerType: null }));
    const text = incidentDescription({ ...snapshot, resources, description: "d".repeat(10_000) }, 4000);
    expect(text.length).toBeLessThanOrEqual(4000);
    expect(text).toContain("virtualmachines/vm19, and 14980 more");
    expect(text).toContain(`Alert id: ${snapshot.alertId}`);
    expect(text.endsWith("d…")).toBe(true);
  });

  it("says who resolved it, within the field", () => {
    expect(resolutionText(snapshot, "Closed", 4000)).toBe("Closed: Azure Monitor reported the alert resolved at 2026-11-01T10:30:00.000Z.");
    expect(resolutionText({ ...snapshot, resolution: "operator", note: "noise" }, "Closed", 4000)).toBe("Closed: resolved by an operator (noise).");
    expect(resolutionText({ ...snapshot, resolution: "quiet_period" }, "Closed", 4000)).toContain("quiet period");
    expect(resolutionText({ ...snapshot, resolution: "operator", note: "n".repeat(5000) }, "Closed", 4000)).toHaveLength(4000);
  });
});

describe("fitting text to an ITSM field", () => {
  it("cuts with an ellipsis, never through a surrogate pair", () => {
    expect(clip("abcdef", 6)).toBe("abcdef");
    expect(clip("abcdefg", 6)).toBe("abcde…");
    // "😀" is two UTF-16 units; cutting between them would leave a lone surrogate.
    expect(clip("abcd😀fg", 6)).toBe("abcd…");
    expect(clip("abc😀efg", 6)).toBe("abc😀…");
    for (const text of ["😀".repeat(60), `a${"😀".repeat(60)}`]) {
      const cut = clip(text, 100);
      expect(cut.length).toBeLessThanOrEqual(100);
      expect(cut.isWellFormed()).toBe(true);
    }
  });

  it("lists the first items and counts the rest", () => {
    expect(listed(["a", "b"], ", ", 3)).toBe("a, b");
    expect(listed(["a", "b", "c", "d", "e"], "\n", 3)).toBe("a\nb\nc\nand 2 more");
  });

  it("shortens an ARM id to its tail at a segment boundary", () => {
    const id = "/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1";
    expect(id.length).toBeGreaterThan(100);
    expect(shortResourceId(id, 100)).toBe("…/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1");
    expect(shortResourceId("/subscriptions/s/resourcegroups/rg", 100)).toBe("/subscriptions/s/resourcegroups/rg");
    expect(shortResourceId(`/x/${"n".repeat(200)}`, 100)).toHaveLength(100);
  });
  it("maps timeline events to ITSM actions", () => {
    const e = (type: "opened" | "resolved" | "reopened" | "superseded" | "details_updated") => ({ type, at: "", notificationId: null, actor: null, detail: {} });
    expect(actionsFor([e("opened"), e("resolved")])).toEqual(["open", "resolve"]);
    expect(actionsFor([e("reopened"), e("superseded"), e("details_updated")])).toEqual(["reopen"]);
  });
});

describe("connector configuration", () => {
  const sn = { SERVICENOW_URL: "https://dev1.service-now.com/", SERVICENOW_USERNAME: "u", SERVICENOW_PASSWORD: "p" };
  it("has no connector unless a URL is set", () => {
    expect(connectorsFromEnv({})).toEqual([]);
  });
  it("configures ServiceNow with basic auth and default mappings", () => {
    expect(connectorsFromEnv(sn)[0]).toMatchObject({ kind: "servicenow", url: "https://dev1.service-now.com", mode: "table", auth: { type: "basic" }, urgencyBySeverity: { Sev0: "1", none: "3" } });
  });
  it("prefers OAuth client credentials when a client id is set", () => {
    expect(connectorsFromEnv({ ...sn, SERVICENOW_CLIENT_ID: "c", SERVICENOW_CLIENT_SECRET: "s" })[0]).toMatchObject({ auth: { type: "oauth", clientId: "c" } });
  });
  it("reads secrets from files", async () => {
    const { writeFileSync, mkdtempSync } = await import("node:fs");
    const dir = mkdtempSync(`${(await import("node:os")).tmpdir()}/se-`);
    writeFileSync(`${dir}/pw`, "from-file\n");
    const config = connectorsFromEnv({ SERVICENOW_URL: "https://x", SERVICENOW_USERNAME: "u", SERVICENOW_PASSWORD_FILE: `${dir}/pw` });
    expect(config[0]).toMatchObject({ auth: { password: "from-file" } });
  });
  it.each([
    [{ ...sn, SERVICENOW_PASSWORD: undefined }, "SERVICENOW_PASSWORD is required"],
    [{ SERVICENOW_URL: "https://x" }, "SERVICENOW_USERNAME or SERVICENOW_CLIENT_ID is required"],
    [{ ...sn, SERVICENOW_MODE: "soap" }, 'SERVICENOW_MODE must be "table" or "event"'],
    [{ ...sn, SERVICENOW_URGENCY_MAP: "Sev0=1" }, "SERVICENOW_URGENCY_MAP must map Sev1, Sev2, Sev3, Sev4, none"],
    [{ ...sn, SERVICENOW_MODE: "event", SERVICENOW_EVENT_SOURCE: "s".repeat(101) }, "SERVICENOW_EVENT_SOURCE must be at most 100 characters (ServiceNow's em_event.source), got 101"],
    [{ ...sn, SERVICENOW_PASSWORD: undefined, SERVICENOW_PASSWORD_FILE: "/nonexistent/pw" }, "SERVICENOW_PASSWORD_FILE names a file that cannot be read"],
    [{ BMC_HELIX_URL: "https://helix", BMC_HELIX_USERNAME: "u" }, "BMC_HELIX_PASSWORD is required"],
    [{ BMC_HELIX_URL: "https://helix", BMC_HELIX_USERNAME: "u", BMC_HELIX_PASSWORD: "p" }, "BMC_HELIX_FIRST_NAME is required"],
    [{ BMC_HELIX_URL: "https://helix", BMC_HELIX_USERNAME: "u", BMC_HELIX_PASSWORD: "p", BMC_HELIX_FIRST_NAME: "A", BMC_HELIX_LAST_NAME: "B", BMC_HELIX_EXTRA_VALUES: "[1]" }, "BMC_HELIX_EXTRA_VALUES must be a JSON object"],
  ])("refuses %j", (env, message) => {
    expect(() => connectorsFromEnv(env)).toThrow(message);
  });
});
