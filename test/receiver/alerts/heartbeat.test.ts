/**
 * The heartbeat's decisions, pure: which arrivals count (a nonce once, in time), when the
 * heartbeat is missing (two attempts that each had an interval to arrive, after the last that
 * did), and what the "heartbeat missing" alert looks like to the ITSM.
 */
import { describe, expect, it } from "vitest";
import {
  classifyArrival,
  heartbeatMissingAlert,
  heartbeatUrl,
  isNonceShaped,
  missingAlertChange,
  missingSince,
  nonceLifetimeMs,
  type Attempt,
} from "../../../receiver/src/alerts/heartbeat.ts";
import { selfAlertPayload } from "../../../receiver/src/alerts/self-alert.ts";
import { validateAlert } from "../../../receiver/src/alerts/validate.ts";
import { newNonce } from "../../../receiver/src/jobs/heartbeat.ts";

const MIN = 60_000;
const INTERVAL = 15 * MIN;
const t0 = new Date("2026-12-06T10:00:00Z");
const at = (minutes: number) => new Date(t0.getTime() + minutes * MIN);
const sent = (minutes: number, receivedAfter: number | null = null): Attempt => ({ sentAt: at(minutes), receivedAt: receivedAfter === null ? null : at(minutes + receivedAfter) });

describe("a heartbeat's nonce", () => {
  it("is fresh each time, URL-safe, and the only shape the receiver looks up", () => {
    const nonces = new Set(Array.from({ length: 100 }, newNonce));
    expect(nonces.size).toBe(100);
    for (const nonce of nonces) expect(isNonceShaped(nonce)).toBe(true);
    expect(isNonceShaped("abc")).toBe(false);
    expect(isNonceShaped(`${newNonce()}'; DROP TABLE heartbeats; --`)).toBe(false);
  });

  it("rides in our own webhook URL, which keeps any path PUBLIC_URL has", () => {
    expect(heartbeatUrl("https://secure-export.contoso.com/", "n0nce")).toBe("https://secure-export.contoso.com/api/alerts?heartbeat=n0nce");
    expect(heartbeatUrl("https://contoso.com/secure-export", "n0nce")).toBe("https://contoso.com/secure-export/api/alerts?heartbeat=n0nce");
  });

  it("counts once, before it expires; a nonce never sent, already counted or late does not", () => {
    const expiresAt = at(30);
    expect(classifyArrival({ expiresAt, receivedAt: null }, at(1))).toBe("received");
    expect(classifyArrival({ expiresAt, receivedAt: at(1) }, at(2))).toBe("used");
    expect(classifyArrival({ expiresAt, receivedAt: null }, at(30))).toBe("expired");
    expect(classifyArrival(null, at(1))).toBe("unknown");
    expect(nonceLifetimeMs(INTERVAL)).toBe(2 * INTERVAL);
  });
});

describe("the heartbeat is missing", () => {
  it("not while each heartbeat arrives", () => {
    expect(missingSince([sent(0, 1), sent(15, 1), sent(30, 1)], INTERVAL, at(46))).toBeNull();
  });

  it("not after one missed heartbeat, nor while the second still has time to arrive", () => {
    expect(missingSince([sent(0, 1), sent(15)], INTERVAL, at(31))).toBeNull();
    expect(missingSince([sent(0, 1), sent(15), sent(30)], INTERVAL, at(44))).toBeNull();
  });

  it("after two that each had a whole interval, since the first of them", () => {
    expect(missingSince([sent(0, 1), sent(15), sent(30)], INTERVAL, at(45))?.toISOString()).toBe(at(15).toISOString());
    // A refused createNotifications is an attempt that did not arrive: it counts too.
    expect(missingSince([sent(15), sent(30)], INTERVAL, at(45))?.toISOString()).toBe(at(15).toISOString());
  });

  it("no longer once one arrives, even a later one; order of the rows does not matter", () => {
    expect(missingSince([sent(45, 1), sent(15), sent(0, 1), sent(30)], INTERVAL, at(61))).toBeNull();
  });

  it("fires once, resolves once", () => {
    expect(missingAlertChange({ missingSince: at(15), firedAt: null })).toBe("fire");
    expect(missingAlertChange({ missingSince: at(15), firedAt: at(45) })).toBe("none");
    expect(missingAlertChange({ missingSince: null, firedAt: at(45) })).toBe("resolve");
    expect(missingAlertChange({ missingSince: null, firedAt: null })).toBe("none");
  });
});

describe("the heartbeat missing alert", () => {
  const actionGroupId = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/actionGroups/secure-export";

  it("is a valid notification named for the ITSM, saying since when and why it matters", () => {
    const fired = heartbeatMissingAlert({ condition: "Fired", since: at(15), actionGroupId, intervalMs: INTERVAL, lastError: "POST … answered 403 AuthorizationFailed" });
    const payload = selfAlertPayload(fired);
    expect(validateAlert(payload).ok).toBe(true);
    expect(payload.data.essentials).toMatchObject({ alertId: "secure-export/heartbeat-missing", alertRule: "secure-export heartbeat missing", monitorCondition: "Fired", firedDateTime: at(15).toISOString() });
    expect(payload.data.essentials.description).toContain("No heartbeat has arrived through the action group since 2026-12-06T10:15:00.000Z");
    expect(payload.data.customProperties).toEqual({ actionGroup: actionGroupId, interval: "15 min", lastError: "POST … answered 403 AuthorizationFailed" });
  });

  it("resolves the same alertId, fired at the same instant", () => {
    const resolved = selfAlertPayload(heartbeatMissingAlert({ condition: "Resolved", since: at(15), resolvedAt: at(61), actionGroupId }));
    expect(resolved.data.essentials).toMatchObject({ alertId: "secure-export/heartbeat-missing", monitorCondition: "Resolved", firedDateTime: at(15).toISOString(), resolvedDateTime: at(61).toISOString() });
  });
});
