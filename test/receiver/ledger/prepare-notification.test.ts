/** The storage rules applied before a notification joins a batch (README: what is stored as sent, and what is adjusted). */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dedupKey, MAX_BINDINGS, tooDeep } from "../../../receiver/src/ledger/prepare-notification.ts";
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

describe("dedup keys", () => {
  /**
   * The key every release has made, written out as its rule says: each object's keys sorted (by
   * UTF-16 code units), each value as JSON writes it, no whitespace, hashed with SHA-256. A key
   * that changed between releases would let a delivery Azure retries to another replica during a
   * rolling upgrade be stored twice.
   */
  function specified(value: unknown): string {
    const text = (v: unknown): string => {
      if (v === null || typeof v !== "object") return JSON.stringify(v);
      if (Array.isArray(v)) return `[${v.map(text).join(",")}]`;
      return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${text((v as Record<string, unknown>)[k])}`).join(",")}}`;
    };
    return createHash("sha256").update(text(value)).digest("hex");
  }
  // Bodies as the intake has them: parsed from text, so a key named __proto__ is the body's own.
  const parsedJson = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);

  it("are the specified canonical form's SHA-256 for any parsed JSON body", () => {
    fc.assert(
      fc.property(parsedJson, (body) => {
        expect(dedupKey(body)).toBe(specified(body));
      }),
      { numRuns: 2_000 },
    );
  });

  it("keep that form for keys an object cannot hold in sorted order: array indexes, __proto__", () => {
    for (const text of ['{"b":{"10":1,"2":2,"a":3},"a":1}', '{"__proto__":{"y":1,"x":2},"a":[{"d":1,"c":2}]}', '[{"4294967296":1,"0":2}]', '{"z":[1,{"b":1,"a":2}],"é":"x"}']) {
      const body: unknown = JSON.parse(text);
      expect(dedupKey(body)).toBe(specified(body));
    }
  });

  it("are one key for the same content in any key order and whitespace, and another for other content", () => {
    expect(dedupKey(JSON.parse('{"a": 1, "b": [1, {"d": 2, "c": 3}]}'))).toBe(dedupKey(JSON.parse('{"b":[1,{"c":3,"d":2}],"a":1}')));
    expect(dedupKey(JSON.parse('{"a":1}'))).not.toBe(dedupKey(JSON.parse('{"a":"1"}')));
  });
});
