/** Leases on both stores: one holder at a time, renewed by its holder, taken over only once expired. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireLease, leaseHolder, releaseLease } from "../../../receiver/src/store/leases.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

describe.each(STORE_KINDS)("leases on $name", (kind) => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await kind.open();
  });
  afterAll(async () => store.close());

  it("lets one holder at a time have it, and its holder renew it", async () => {
    expect(await acquireLease(store.db, "heartbeat", "replica-a", 60_000)).toBe(true);
    expect(await acquireLease(store.db, "heartbeat", "replica-b", 60_000)).toBe(false);
    expect(await acquireLease(store.db, "heartbeat", "replica-a", 60_000)).toBe(true);
    expect(await leaseHolder(store.db, "heartbeat")).toMatchObject({ holder: "replica-a" });
  });

  it("passes to another replica once it has expired, or been given up", async () => {
    expect(await acquireLease(store.db, "sweep", "replica-a", 1)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await acquireLease(store.db, "sweep", "replica-b", 60_000)).toBe(true);
    await releaseLease(store.db, "sweep", "replica-b");
    expect(await leaseHolder(store.db, "sweep")).toBeNull();
    expect(await acquireLease(store.db, "sweep", "replica-c", 60_000)).toBe(true);
  });

  it("gives it to exactly one of many replicas asking at once", async () => {
    const winners = await Promise.all(Array.from({ length: 8 }, (_, i) => acquireLease(store.db, "race", `replica-${i}`, 60_000)));
    expect(winners.filter(Boolean)).toHaveLength(1);
  });
});
