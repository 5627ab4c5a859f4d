/** Stateless incidents auto-resolve after their family's quiet period, on both stores. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveQuietIncidents } from "../../../receiver/src/ledger/resolve-quiet-incidents.ts";
import { getIncident, incidentTimeline } from "../../../receiver/src/store/ledger-queries.ts";
import { listDeliveries } from "../../../receiver/src/store/delivery-queries.ts";
import { wrapContext } from "../../support/fixtures.ts";
import { acceptOne } from "../../support/ledger.ts";
import { NO_TARGETS } from "../../support/notifications.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

describe.each(STORE_KINDS)("quiet-period resolution on $name", (kind) => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await kind.open();
  });
  afterAll(() => store?.close());

  const accept = (name: string, firedDateTime: string) => acceptOne(store.db, wrapContext(name, { firedDateTime }));

  it("resolves quiet log incidents of configured families only, at last change + period", async () => {
    const quiet = await accept("log-alerts-v2.json", "2026-11-01T08:00:00.000Z");
    const recent = await accept("log-alerts-v2.json", "2026-11-01T09:50:00.000Z");
    const activity = await accept("activitylog-policy.json", "2026-11-01T08:00:00.000Z");
    const metric = await accept("metric-static.json", "2026-11-01T08:00:00.000Z");

    const resolved = await resolveQuietIncidents(store.db, { log: 3_600_000 }, NO_TARGETS, new Date("2026-11-01T10:00:00.000Z"));
    expect(resolved.map((r) => r.incident.id)).toEqual([quiet.incidentId]);
    expect(resolved[0]!.events.map((e) => e.type)).toEqual(["resolved"]);

    expect(await getIncident(store.db, quiet.incidentId)).toMatchObject({ state: "resolved", resolution: "quiet_period", resolvedAt: "2026-11-01T09:00:00.000Z" });
    expect((await incidentTimeline(store.db, quiet.incidentId)).map((e) => e.type)).toEqual(["opened", "resolved"]);
    for (const other of [recent, activity, metric]) expect((await getIncident(store.db, other.incidentId))?.state).toBe("open");

    expect(await resolveQuietIncidents(store.db, { log: 3_600_000 }, NO_TARGETS, new Date("2026-11-01T10:00:00.000Z"))).toEqual([]);
  });

  it("sends the close to the ITSM tool with the incident's CIs, as intake would", async () => {
    const targets = { connectors: ["servicenow"], maxAgeMs: 3_600_000 };
    const quiet = await acceptOne(store.db, wrapContext("log-alerts-v2.json", { firedDateTime: "2026-11-02T08:00:00.000Z" }), targets);
    await resolveQuietIncidents(store.db, { log: 3_600_000 }, targets, new Date("2026-11-02T10:00:00.000Z"));
    const deliveries = await listDeliveries(store.db, { incidentIds: [quiet.incidentId], limit: 10 });
    expect(deliveries.map((d) => d.action)).toEqual(["open", "resolve"]);
    const { rows } = await store.db.query<{ payload: unknown }>("SELECT payload FROM deliveries WHERE incident_id = $1::uuid AND action = 'resolve'", [quiet.incidentId]);
    const payload = (typeof rows[0]!.payload === "string" ? JSON.parse(rows[0]!.payload) : rows[0]!.payload) as { resources: Array<{ resourceId: string }>; resolution: string };
    expect(payload.resolution).toBe("quiet_period");
    expect(payload.resources.map((r) => r.resourceId)).toEqual(["/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1"]);
  });
});
