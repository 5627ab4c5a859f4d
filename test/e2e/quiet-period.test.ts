/** Stateless incidents auto-resolve after their family's quiet period, on both stores. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateAlert } from "../../receiver/src/alerts/validate.ts";
import { acceptNotification } from "../../receiver/src/intake/accept-notification.ts";
import { sweepQuietIncidents } from "../../receiver/src/jobs/quiet-period-sweep.ts";
import { getIncident, incidentTimeline } from "../../receiver/src/store/ledger-queries.ts";
import { wrapContext } from "../support/fixtures.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";

const caller = { tenantId: "t", objectId: "o", callerId: "461e8683-5575-4561-ac7f-899cc907d62a", tokenVersion: "1.0" as const, roles: [] };

describe.each(STORE_KINDS)("quiet-period sweep on $name", (kind) => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await kind.open();
  });
  afterAll(() => store?.close());

  async function accept(name: string, firedDateTime: string) {
    const validation = validateAlert(wrapContext(name, { firedDateTime }));
    if (!validation.ok) throw new Error(validation.message);
    return acceptNotification(store.db, { payload: validation.alert, rawPayload: "{}", caller });
  }

  it("resolves quiet log incidents of configured families only, at last change + period", async () => {
    const quiet = await accept("log-alerts-v2.json", "2026-11-01T08:00:00.000Z");
    const recent = await accept("log-alerts-v2.json", "2026-11-01T09:50:00.000Z");
    const activity = await accept("activitylog-policy.json", "2026-11-01T08:00:00.000Z");
    const metric = await accept("metric-static.json", "2026-11-01T08:00:00.000Z");

    const resolved = await sweepQuietIncidents(store.db, { log: 3_600_000 }, { connectors: [], maxAgeMs: 0 }, new Date("2026-11-01T10:00:00.000Z"));
    expect(resolved.map((i) => i.id)).toEqual([quiet.incidentId]);

    expect(await getIncident(store.db, quiet.incidentId)).toMatchObject({ state: "resolved", resolution: "quiet_period", resolvedAt: expect.stringMatching(/^2026-11-01T09:00:00/) });
    expect((await incidentTimeline(store.db, quiet.incidentId)).map((e) => e.type)).toEqual(["opened", "resolved"]);
    for (const other of [recent, activity, metric]) expect((await getIncident(store.db, other.incidentId))?.state).toBe("open");

    expect(await sweepQuietIncidents(store.db, { log: 3_600_000 }, { connectors: [], maxAgeMs: 0 }, new Date("2026-11-01T10:00:00.000Z"))).toEqual([]);
  });
});
