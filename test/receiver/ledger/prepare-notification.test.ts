/** The storage rules applied before a notification joins a batch (README: what is stored as sent, and what is adjusted). */
import { describe, expect, it } from "vitest";
import { MAX_BINDINGS, tooDeep } from "../../../receiver/src/ledger/prepare-notification.ts";
import { storableText, utcTime } from "../../../receiver/src/store/storable.ts";
import { wrapContext } from "../../support/fixtures.ts";
import { prepared } from "../../support/notifications.ts";

describe("storage rules", () => {
  it.each([
    ["2026-11-01T10:00:00Z", "2026-11-01T10:00:00.000Z"],
    ["2026-11-01T10:00:00.1234567+23:00", "2026-10-31T11:00:00.123Z"],
    ["2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999Z"],
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"],
    ["9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"],
    ["0000-06-01T00:00:00Z", null],
    ["0001-01-01T00:30:00+01:00", null],
    ["9999-12-31T23:00:00-05:00", null],
  ])("stores the time %s as %s (UTC, or refused)", (input, stored) => {
    expect(utcTime(input)).toBe(stored);
  });

  it("replaces NUL and lone surrogates, keeps every other character", () => {
    expect(storableText("a\u0000b\ud800c\udfffd 😀 é")).toBe("a\ufffdb\ufffdc\ufffdd 😀 é");
  });

  it("finds where JSON is nested too deep without recursing", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(tooDeep({ data: { x: deep } }, 64)).toMatch(/^data\.x(\[0\])+$/);
    expect(tooDeep({ data: { x: [[1]] } }, 64)).toBeNull();
  });

  it(`binds at most ${MAX_BINDINGS} CIs, the resources first`, () => {
    const targets = Array.from({ length: 600 }, (_, i) => `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm${i}`);
    const names = Array.from({ length: 3000 }, (_, i) => `name-${i}`);
    const notification = prepared(wrapContext("metric-static.json", { alertTargetIDs: targets, configurationItems: names }));
    expect(notification.bindings).toHaveLength(MAX_BINDINGS);
    expect(notification.bindings.slice(0, 600).every((b) => b.bound)).toBe(true);
    expect(notification.rawPayload).toContain("name-2999");
  });
});
