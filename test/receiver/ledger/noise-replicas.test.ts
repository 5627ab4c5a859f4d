/**
 * Noise control with several replicas on one PostgreSQL (what only a server shows: real row locks
 * and concurrent transactions): concurrent arrivals on two replicas make exactly one group per key
 * and one storm incident per storm, and both replicas running the timers at once open each group's
 * ticket once and release each held incident once, into one group (when two releases open the same
 * group at once, one runs again and joins it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptNotifications, type AcceptedNotification } from "../../../receiver/src/ledger/accept-notifications.ts";
import { GroupCommit } from "../../../receiver/src/ledger/group-commit.ts";
import { runNoiseTimers } from "../../../receiver/src/ledger/noise-timers.ts";
import type { PreparedNotification } from "../../../receiver/src/ledger/prepare-notification.ts";
import { releaseHeldIncidents } from "../../../receiver/src/ledger/release-held-incidents.ts";
import type { Database } from "../../../receiver/src/store/database.ts";
import { openPostgres } from "../../../receiver/src/store/postgres-database.ts";
import { wrapContext } from "../../support/fixtures.ts";
import { routed, serviceNowRules } from "../../support/notifications.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

const SUB = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e";
const { rules, targets } = serviceNowRules([
  "noise:",
  "  - name: per-rule",
  "    match: { alertRules: [\"cpu-*\"] }",
  "    groupBy: [alertRule]",
  "    groupWait: 0s",
  "    groupInterval: 1s",
  "  - name: blips",
  "    match: { alertRules: [\"blip\"] }",
  "    groupBy: [alertRule]",
  "    groupWait: 0s",
  "    holdFor: 1s",
  "storm:",
  "  - name: outage",
  "    match: { alertRules: [\"outage-*\"] }",
  "    maxNewTickets: 3",
  "    per: 10m",
]);

let counter = 0;
function arrival(rule: string): PreparedNotification {
  counter += 1;
  const now = new Date();
  const payload = wrapContext("metric-static.json", {
    alertId: `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/replica-${counter}-${now.getTime()}`,
    alertRule: rule,
    firedDateTime: now.toISOString(),
    alertTargetIDs: [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-${counter}`],
    configurationItems: [`vm-${counter}`],
  });
  return routed(payload, rules, now);
}

async function count(db: Database, sql: string, params: unknown[] = []): Promise<number> {
  return (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;
}

describe("noise control with two replicas on one PostgreSQL", () => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await STORE_KINDS.find((k) => k.name === "postgres")!.open();
  });
  afterAll(() => store?.close());

  it("makes one group per key and one storm incident per storm under concurrent arrivals, and the timers act once", { timeout: 120_000 }, async () => {
    const replicas = [0, 1].map(() => openPostgres({ connectionString: store.postgres!.url, maxConnections: 4 }));
    const intakes = replicas.map((db) => new GroupCommit<PreparedNotification, AcceptedNotification>({ commit: (batch) => acceptNotifications(db, batch, targets), sizeOf: () => 1, maxBatch: 8 }));
    try {
      const rulesUsed = ["cpu-a", "cpu-b", "cpu-c"];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 16 }, async (_, sender) => {
          // A third of them held: more than one release takes (100), so both replicas' releases open the held alerts' group at once.
          for (let i = 0; i < 21; i += 1) {
            const kind = (sender + i) % 3;
            const n = kind === 0 ? arrival(rulesUsed[i % 3]!) : kind === 1 ? arrival(`outage-${sender}-${i}`) : arrival("blip");
            await intakes[(sender + i) % 2]!.submit(n);
          }
        }),
      );
      expect(outcomes.filter((o) => o.status === "rejected")).toEqual([]);
      // Every group key has one group, holding every alert of it.
      for (const rule of rulesUsed) {
        const groups = await store.db.query<{ id: string; members: number }>(
          "SELECT id::text AS id, (noise->>'members')::int AS members FROM incidents WHERE kind = 'group' AND noise->>'key' = $1",
          [`alertRule=${rule}`],
        );
        expect(groups.rows).toHaveLength(1);
        expect(groups.rows[0]!.members).toBe(await count(store.db, "incidents WHERE alert_rule = $1 AND kind = 'alert'", [rule]));
        expect(await count(store.db, "incidents WHERE problem_id = $1::uuid", [groups.rows[0]!.id])).toBe(groups.rows[0]!.members);
      }
      // One storm incident; 3 tickets before it, every other outage alert in it.
      expect(await count(store.db, "incidents WHERE kind = 'storm'")).toBe(1);
      const outages = await count(store.db, "incidents WHERE alert_rule LIKE 'outage-%' AND kind = 'alert'");
      expect(await count(store.db, "deliveries d JOIN incidents i ON i.id = d.incident_id WHERE i.alert_rule LIKE 'outage-%' AND i.kind = 'alert' AND d.action = 'open'")).toBe(3);
      expect(await count(store.db, "incidents WHERE kind = 'alert' AND alert_rule LIKE 'outage-%' AND noise->'storms'->>'default' IS NOT NULL")).toBe(outages - 3);

      // Both replicas run the timers at once, several times, after the holds ended.
      await new Promise((r) => setTimeout(r, 1200));
      await Promise.all(replicas.flatMap((db) => [0, 1, 2].map(async () => {
        await releaseHeldIncidents(db, targets);
        await runNoiseTimers(db, targets);
      })));
      const blips = await count(store.db, "incidents WHERE alert_rule = 'blip' AND kind = 'alert'");
      expect(await count(store.db, "incident_events e JOIN incidents i ON i.id = e.incident_id WHERE i.alert_rule = 'blip' AND e.type = 'released'")).toBe(blips);
      const blipGroups = await store.db.query<{ id: string; members: number }>("SELECT id::text AS id, (noise->>'members')::int AS members FROM incidents WHERE kind = 'group' AND noise->>'key' = 'alertRule=blip'");
      expect(blipGroups.rows).toEqual([{ id: expect.any(String), members: blips }]);
      expect(await count(store.db, "incidents WHERE alert_rule = 'blip' AND kind = 'alert' AND problem_id = $1::uuid", [blipGroups.rows[0]!.id])).toBe(blips);
      // Each group's ticket opened once, the held alerts' group's once, and the storm's once; none of a held alert's own.
      expect(await count(store.db, "deliveries d JOIN incidents i ON i.id = d.incident_id WHERE i.alert_rule = 'blip' AND i.kind = 'alert' AND d.action = 'open'")).toBe(0);
      expect(await count(store.db, "deliveries d JOIN incidents i ON i.id = d.incident_id WHERE i.kind <> 'alert' AND d.action = 'open'")).toBe(5);
    } finally {
      await Promise.all(intakes.map((g) => g.close()));
      await Promise.all(replicas.map((db) => db.close()));
    }
  });
});
