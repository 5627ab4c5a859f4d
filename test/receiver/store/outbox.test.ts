/** The outbox's guarantees, on both stores: ordering per incident, one holder per job, dead letters and replay. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { correlationKey, type IncidentSnapshot } from "../../../receiver/src/outbox/delivery.ts";
import type { Database } from "../../../receiver/src/store/database.ts";
import { getDelivery, latestDeliveries } from "../../../receiver/src/store/delivery-queries.ts";
import { openPostgres } from "../../../receiver/src/store/postgres-database.ts";
import { writeLedger } from "../../../receiver/src/store/ledger-writes.ts";
import { CLAIM, claimDelivery, completeDelivery, failDelivery, retryDelivery, type NewDelivery } from "../../../receiver/src/store/outbox.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

/** Queues each action for each connector, in that order, in one transaction. */
function queue(db: Database, snapshot: IncidentSnapshot, actions: Array<NewDelivery["action"]>, connectors = ["servicenow", "bmc-helix"]) {
  const deliveries = actions.flatMap((action) => connectors.map((connector) => ({ incidentId: snapshot.incidentId, connector, action, snapshot, maxAgeMs: 3_600_000 })));
  return db.transaction(async (tx) => writeLedger(tx, { inserted: [], updated: [], events: [], bindings: [], deliveries }));
}

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  Alias?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  Plans?: PlanNode[];
}
const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];

describe.each(STORE_KINDS)("outbox on $name", (kind) => {
  let store: OpenStore;
  let incidentId: string;

  beforeAll(async () => {
    store = await kind.open();
  });
  afterAll(() => store?.close());
  beforeEach(async () => {
    await store.db.query("DELETE FROM deliveries");
    const { rows } = await store.db.query<{ id: string }>(
      `INSERT INTO incidents (alert_id, alert_key, state, title, monitoring_service, family, fired_at, last_at, last_rank, last_key)
       SELECT k, k, 'open', 't', 'Platform', 'metric', now(), '2026-11-01T10:00:00Z', 0, 'k' FROM (SELECT gen_random_uuid()::text AS k) g RETURNING id::text AS id`,
    );
    incidentId = rows[0]!.id;
  });

  function snapshot(): IncidentSnapshot {
    return { incidentId, alertId: "a", correlationKey: correlationKey("a"), title: "t", description: null, severity: "Sev2", monitoringService: "Platform", signalType: "Metric", alertRule: null, firedAt: "2026-11-01T10:00:00Z", resolvedAt: null, resolution: null, resources: [], unboundCis: [], resourceCount: 0, unboundCount: 0, fields: {}, note: null };
  }
  const claim = (connectors = ["servicenow"]) => store.db.transaction((tx) => claimDelivery(tx, connectors));

  it("queues one job per action and connector, and hands out a resolve only after its open is delivered", async () => {
    await queue(store.db, snapshot(), ["open", "resolve"]);
    const open = await claim();
    expect(open).toMatchObject({ action: "open", connector: "servicenow", attempts: 1, link: null, snapshot: { incidentId } });
    expect(await claim()).toBeNull();

    await store.db.transaction((tx) => failDelivery(tx, open!, "down", new Date(Date.now() - 1000)));
    // Still the open first, although the resolve is as due as it is.
    const again = await claim();
    expect(again).toMatchObject({ id: open!.id, attempts: 2 });

    await store.db.transaction((tx) => completeDelivery(tx, again!, { externalId: "sys-1", externalNumber: "INC1" }));
    const resolve = await claim();
    expect(resolve).toMatchObject({ action: "resolve", link: { externalId: "sys-1", externalNumber: "INC1" } });
    // The other connector's jobs are independent.
    expect(await claim(["bmc-helix"])).toMatchObject({ action: "open", connector: "bmc-helix" });
  });

  it("leases a claimed job: nobody else gets it while it is in flight", async () => {
    await queue(store.db, snapshot(), ["open"]);
    expect(await claim()).not.toBeNull();
    expect(await claim()).toBeNull();
    // A worker that crashed mid-delivery: once the lease runs out the job is claimable again.
    await store.db.query("UPDATE deliveries SET leased_until = now() - interval '1 second'");
    expect(await claim()).toMatchObject({ attempts: 2 });
  });

  it("dead-letters past the deadline or on a permanent error, and replays on request", async () => {
    await queue(store.db, snapshot(), ["open", "resolve"], ["servicenow"]);
    const job = (await claim())!;
    expect(await store.db.transaction((tx) => failDelivery(tx, job, "400 bad request", null))).toBe("dead");
    expect(await getDelivery(store.db, job.id)).toMatchObject({ status: "dead", lastError: "400 bad request", nextAttemptAt: null });
    // A dead open blocks the resolve behind it.
    expect(await claim()).toBeNull();
    expect((await latestDeliveries(store.db, [incidentId])).get(incidentId)).toEqual([expect.objectContaining({ action: "resolve", status: "pending" })]);

    expect(await store.db.transaction((tx) => retryDelivery(tx, job.id, 3_600_000))).toBe(true);
    expect(await store.db.transaction((tx) => retryDelivery(tx, job.id, 3_600_000))).toBe(false);
    const replayed = (await claim())!;
    expect(replayed.id).toBe(job.id);
    expect(await store.db.transaction((tx) => failDelivery(tx, replayed, "timeout", new Date(Date.now() + 7_200_000)))).toBe("dead");
  });

});

describe.each(STORE_KINDS)("outbox backlog on $name", (kind) => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await kind.open();
    // A new stack's first storm: the table has never been analyzed (and autovacuum must not do it now).
    await store.db.query("ALTER TABLE deliveries SET (autovacuum_enabled = false)");
  });
  afterAll(() => store?.close());

  it("claims by walking the due jobs in order, not by reading them all, when the statistics have not seen the backlog", async () => {
    await store.db.query(
      `WITH i AS (
         INSERT INTO incidents (alert_id, alert_key, state, title, monitoring_service, family, fired_at, last_at, last_rank, last_key)
         SELECT 'b-' || g, 'b-' || g, 'open', 't', 'Platform', 'metric', now(), 'x', 0, 'k' FROM generate_series(1, 8000) g RETURNING id)
       INSERT INTO deliveries (incident_id, connector, action, payload, deadline_at)
       SELECT id, 'servicenow', 'open', '{}'::jsonb, now() + interval '1 hour' FROM i`,
    );
    // claimDelivery itself, with its own settings: its claim statement is explained (and run) in its
    // transaction just before it runs, so the plan is the one a real claim gets.
    let plan: Array<{ Plan: PlanNode }> | undefined;
    const claimed = await store.db.transaction((tx) =>
      claimDelivery(
        {
          ...tx,
          query: async <Row,>(sql: string, params?: readonly unknown[]) => {
            if (sql === CLAIM) {
              const { rows } = await tx.query<Record<string, unknown>>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
              const explained = Object.values(rows[0]!)[0];
              plan = (typeof explained === "string" ? JSON.parse(explained) : explained) as Array<{ Plan: PlanNode }>;
            }
            return tx.query<Row>(sql, params);
          },
        },
        ["servicenow"],
      ),
    );
    expect(claimed).toMatchObject({ action: "open", connector: "servicenow", attempts: 1 });
    // The scan of due jobs hands on the first free one and stops; no node reads or sorts the whole backlog.
    const nodes = flatten(plan![0]!.Plan);
    const scans = nodes.filter((n) => n["Node Type"].includes("Scan") && n["Relation Name"] === "deliveries");
    expect(scans.length).toBeGreaterThan(0);
    for (const scan of scans) expect(scan["Actual Rows"] * scan["Actual Loops"]).toBeLessThanOrEqual(2);
    expect(nodes.map((n) => n["Node Type"])).not.toContain("Sort");
  });
});

describe("outbox claims under contention (PostgreSQL, several workers)", () => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await STORE_KINDS.find((k) => k.name === "postgres")!.open();
  });
  afterAll(() => store?.close());

  it("never hands one job to two workers, and keeps each incident's jobs in order", async () => {
    const incidents: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      const { rows } = await store.db.query<{ id: string }>(
        `INSERT INTO incidents (alert_id, alert_key, state, title, monitoring_service, family, fired_at, last_at, last_rank, last_key)
         VALUES ('c-' || $1, 'c-' || $1, 'open', 't', 'Platform', 'metric', now(), 'x', 0, 'k') RETURNING id::text AS id`,
        [i],
      );
      incidents.push(rows[0]!.id);
      await queue(store.db, { incidentId: rows[0]!.id } as IncidentSnapshot, ["open", "resolve", "reopen"], ["servicenow"]);
    }
    // Separate pools: separate connections, like separate replicas.
    const workers = Array.from({ length: 6 }, () => openPostgres({ connectionString: store.postgres!.url, maxConnections: 2 }));
    const delivered: Array<{ id: string; incidentId: string; action: string }> = [];
    const inFlight = new Set<string>();
    try {
      await Promise.all(
        workers.map(async (db) => {
          for (;;) {
            const job = await db.transaction((tx) => claimDelivery(tx, ["servicenow"]));
            if (!job) {
              const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending'");
              if (rows[0]!.n === 0) return;
              await new Promise((r) => setTimeout(r, 5));
              continue;
            }
            expect(inFlight.has(job.id)).toBe(false);
            inFlight.add(job.id);
            await new Promise((r) => setTimeout(r, Math.random() * 5));
            delivered.push({ id: job.id, incidentId: job.incidentId, action: job.action });
            inFlight.delete(job.id);
            await db.transaction((tx) => completeDelivery(tx, job, null));
          }
        }),
      );
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    expect(delivered).toHaveLength(60);
    expect(new Set(delivered.map((d) => d.id)).size).toBe(60);
    for (const id of incidents) {
      expect(delivered.filter((d) => d.incidentId === id).map((d) => d.action)).toEqual(["open", "resolve", "reopen"]);
    }
  });
});
