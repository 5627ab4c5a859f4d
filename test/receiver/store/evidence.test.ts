/**
 * The evidence claim on both stores (docs/incidents.md#log-evidence): replicas claiming at once fetch
 * each new log alert's rows once; a crashed replica's claim is taken again after it runs out; other
 * alerts, and log alerts older than the job looks, are never claimed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimEvidence } from "../../../receiver/src/store/evidence.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

describe.each(STORE_KINDS)("claiming log evidence on $name", (kind) => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await kind.open();
  });
  afterAll(async () => {
    await store?.close();
  });

  async function incident(alertId: string, monitoringService = "Log Alerts V2", createdAgo = "0 seconds"): Promise<string> {
    const { rows } = await store.db.query<{ id: string }>(
      `INSERT INTO incidents (alert_id, alert_key, state, title, monitoring_service, family, fired_at, last_at, last_rank, last_key, created_at)
       VALUES ($1, $1, 'open', 't', $2, 'log', now(), '2026-11-01T10:00:00Z', 0, 'k', now() - $3::interval) RETURNING id::text AS id`,
      [alertId, monitoringService, createdAgo],
    );
    return rows[0]!.id;
  }

  it("gives each new log alert to exactly one of several claimers at once, and never again", async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => incident(`log-${kind.name}-${i}`)));
    await incident(`metric-${kind.name}`, "Platform");
    await incident(`old-log-${kind.name}`, "Log Alerts V2", "11 minutes");
    const rounds = await Promise.all(Array.from({ length: 4 }, () => claimEvidence(store.db, 8, 300_000)));
    const claimed = rounds.flat().map((c) => c.incidentId);
    expect(claimed.sort()).toEqual([...ids].sort());
    expect(await claimEvidence(store.db, 8, 300_000)).toEqual([]);
  });

  it("takes a claim again once it ran out (its replica died mid-fetch), once", async () => {
    const id = await incident(`crashed-${kind.name}`);
    expect((await claimEvidence(store.db, 8, 300_000)).map((c) => c.incidentId)).toEqual([id]);
    await store.db.query("UPDATE incident_evidence SET claimed_until = now() - interval '1 second' WHERE incident_id = $1::uuid", [id]);
    const again = await Promise.all([claimEvidence(store.db, 8, 300_000), claimEvidence(store.db, 8, 300_000)]);
    expect(again.flat()).toEqual([{ incidentId: id, alertId: `crashed-${kind.name}` }]);
  });
});
