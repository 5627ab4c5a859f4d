/** Index keys and new incident ids (pure: no database). */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { alertKey, ciKey, newIncidentId } from "../../../receiver/src/store/keys.ts";

describe("index keys", () => {
  it("keys a value by itself up to 512 bytes, and by its SHA-256 beyond (a btree entry holds about 2.7 KB)", () => {
    const short = `/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/${"a".repeat(400)}`;
    expect(alertKey(short)).toBe(short);
    const long = `/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/${"é".repeat(300)}`;
    expect(alertKey(long)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(alertKey(long)).not.toBe(alertKey(`${long}x`));
  });

  it("keys a CI by its lower-cased ARM id when bound, else by its lower-cased name, never the one for the other", () => {
    expect(ciKey({ resourceId: "/subscriptions/S/resourceGroups/RG/providers/X/y/VM1" })).toBe("r:/subscriptions/s/resourcegroups/rg/providers/x/y/vm1");
    expect(ciKey({ name: "VM1" })).toBe("n:vm1");
  });
});

describe("new incident ids", () => {
  it("are RFC 9562 version 7 UUIDs whose text sorts by creation time, so indexes on them grow at one end", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      ids.push(newIncidentId());
      await sleep(2);
    }
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    // The first 48 bits are the creation time in milliseconds.
    const created = Number.parseInt(ids[0]!.replace(/-/g, "").slice(0, 12), 16);
    expect(Math.abs(created - Date.now())).toBeLessThan(5_000);
    expect(new Set(Array.from({ length: 1_000 }, newIncidentId)).size).toBe(1_000);
  });

  it("keep creation order among ids of one millisecond, across refills of their random pool", () => {
    // 1,000 ids take well under a millisecond each: many share one, and the pool (256 ids) refills three times.
    const ids = Array.from({ length: 1_000 }, newIncidentId);
    expect([...ids].sort()).toEqual(ids);
    const millis = new Set(ids.map((id) => id.slice(0, 13)));
    expect(millis.size).toBeLessThan(ids.length);
  });
});
