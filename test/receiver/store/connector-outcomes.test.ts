/** A connector's outcomes as the status reads them from the outbox (store/delivery-queries.ts connectorOutcomes), on both stores. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptNotifications } from "../../../receiver/src/ledger/accept-notifications.ts";
import { prepareNotification } from "../../../receiver/src/ledger/prepare-notification.ts";
import { connectorOutcomes } from "../../../receiver/src/store/delivery-queries.ts";
import { claimDelivery, completeDelivery, failDelivery } from "../../../receiver/src/store/outbox.ts";
import { wrapContext } from "../../support/fixtures.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

describe.each(STORE_KINDS)("connector outcomes on $name", (kind) => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await kind.open();
  });
  afterAll(() => store?.close());

  async function accept() {
    const payload = wrapContext("metric-static.json", { severity: "Sev2" });
    const prepared = prepareNotification(payload, JSON.stringify(payload), { tenantId: "t", objectId: null, name: "test", callerId: "test", tokenVersion: "2.0", roles: [] });
    if (!prepared.ok) throw new Error(prepared.message);
    await acceptNotifications(store.db, [prepared.notification], { connectors: ["default"], maxAgeMs: 60_000 });
  }

  it("counts the queue, and follows the latest success and the latest failure per connector", async () => {
    expect(await connectorOutcomes(store.db, ["default", "idle"])).toEqual([
      { connector: "default", pending: 0, dead: 0, lastSuccessAt: null, lastFailureAt: null, lastFailure: null },
      { connector: "idle", pending: 0, dead: 0, lastSuccessAt: null, lastFailureAt: null, lastFailure: null },
    ]);
    await accept();
    await accept();
    expect((await connectorOutcomes(store.db, ["default"]))[0]).toMatchObject({ pending: 2, dead: 0, lastSuccessAt: null });

    const first = (await claimDelivery(store.db, ["default"]))!;
    await failDelivery(store.db, first, "POST /api/now/table/incident answered 401: User Not Authenticated", new Date());
    const failed = (await connectorOutcomes(store.db, ["default"]))[0]!;
    expect(failed).toMatchObject({ pending: 2, lastFailure: "POST /api/now/table/incident answered 401: User Not Authenticated", lastSuccessAt: null });
    expect(failed.lastFailureAt).toEqual(expect.any(String));

    const second = (await claimDelivery(store.db, ["default"]))!;
    await completeDelivery(store.db, second, { externalId: "x", externalNumber: null });
    const dead = (await claimDelivery(store.db, ["default"]))!;
    await failDelivery(store.db, dead, "POST /api/now/table/incident answered 400: bad", null);
    const after = (await connectorOutcomes(store.db, ["default"]))[0]!;
    expect(after).toMatchObject({ pending: 0, dead: 1, lastFailure: "POST /api/now/table/incident answered 400: bad" });
    expect(after.lastSuccessAt).toEqual(expect.any(String));
  });
});
