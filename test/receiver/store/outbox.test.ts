/** The outbox's guarantees, on both stores: ordering per incident, one holder per job, dead letters and replay. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { correlationKey, type IncidentSnapshot } from "../../../receiver/src/outbox/delivery.ts";
import type { Database } from "../../../receiver/src/store/database.ts";
import { getDelivery, latestDeliveries } from "../../../receiver/src/store/delivery-queries.ts";
import { openPostgres } from "../../../receiver/src/store/postgres-database.ts";
import { writeLedger } from "../../../receiver/src/store/ledger-writes.ts";
import { CLAIM, claimDelivery, completeDelivery, failDelivery, retryDelivery, type NewDelivery } from "../../../receiver/src/store/outbox.ts";
import { observingAnswers } from "../../support/statements.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

/** Queues each action for each connector, in that order, in one transaction. */
function queue(db: Database, snapshot: IncidentSnapshot, actions: Array<NewDelivery["action"]>, connectors = ["servicenow", "bmc-helix"]) {
  const deliveries = actions.flatMap((action) => connectors.map((connector) => ({ incidentId: snapshot.incidentId, connector, action, snapshot, maxAgeMs: 3_600_000 })));
  return db.transaction(async (tx) => writeLedger(tx, { inserted: [], updated: [], events: [], bindings: [], deliveries }));
}

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
  const claim = (connectors = ["servicenow"]) => claimDelivery(store.db, connectors);

  it("queues one job per action and connector, and hands out a resolve only after its open is delivered", async () => {
    await queue(store.db, snapshot(), ["open", "resolve"]);
    const open = await claim();
    expect(open).toMatchObject({ action: "open", connector: "servicenow", attempts: 1, link: null, snapshot: { incidentId } });
    expect(await claim()).toBeNull();

    await failDelivery(store.db, open!, "down", new Date(Date.now() - 1000));
    // Still the open first, although the resolve is as due as it is.
    const again = await claim();
    expect(again).toMatchObject({ id: open!.id, attempts: 2 });

    await completeDelivery(store.db, again!, { externalId: "sys-1", externalNumber: "INC1" });
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
    expect(await failDelivery(store.db, job, "400 bad request", null)).toBe("dead");
    expect(await getDelivery(store.db, job.id)).toMatchObject({ status: "dead", lastError: "400 bad request", nextAttemptAt: null });
    // A dead open blocks the resolve behind it.
    expect(await claim()).toBeNull();
    expect((await latestDeliveries(store.db, [incidentId])).get(incidentId)).toEqual([expect.objectContaining({ action: "resolve", status: "pending" })]);

    expect(await store.db.transaction((tx) => retryDelivery(tx, job.id, 3_600_000))).toBe(true);
    expect(await store.db.transaction((tx) => retryDelivery(tx, job.id, 3_600_000))).toBe(false);
    const replayed = (await claim())!;
    expect(replayed.id).toBe(job.id);
    expect(await failDelivery(store.db, replayed, "timeout", new Date(Date.now() + 7_200_000))).toBe("dead");
  });

  it("writes each step's line in the incident's timeline: a failure once per cause, the dead letter, the ticket and its link", async () => {
    await queue(store.db, snapshot(), ["open", "resolve"], ["servicenow"]);
    const timeline = async () =>
      (await store.db.query<{ type: string; detail: Record<string, unknown> }>("SELECT type, detail FROM incident_events WHERE incident_id = $1::uuid ORDER BY id", [incidentId])).rows.map((e) =>
        typeof e.detail === "string" ? { ...e, detail: JSON.parse(e.detail) } : e,
      );
    const retryAt = new Date(Date.now() - 1000);
    for (const error of ["connect ECONNREFUSED", "connect ECONNREFUSED", "answered 503"]) expect(await failDelivery(store.db, (await claim())!, error, retryAt)).toBe("retry");
    expect(await timeline()).toEqual([
      { type: "delivery_failed", detail: { connector: "servicenow", action: "open", attempts: 1, error: "connect ECONNREFUSED", retryAt: retryAt.toISOString() } },
      { type: "delivery_failed", detail: { connector: "servicenow", action: "open", attempts: 3, error: "answered 503", retryAt: retryAt.toISOString() } },
    ]);
    await completeDelivery(store.db, (await claim())!, { externalId: "sys-9", externalNumber: "INC9" });
    const resolve = (await claim())!;
    expect(resolve.link).toEqual({ externalId: "sys-9", externalNumber: "INC9" });
    expect(await failDelivery(store.db, resolve, "answered 400", null)).toBe("dead");
    expect((await timeline()).slice(2)).toEqual([
      { type: "ticket_created", detail: { connector: "servicenow", action: "open", ticket: "INC9", externalId: "sys-9", attempts: 4 } },
      { type: "delivery_dead", detail: { connector: "servicenow", action: "resolve", attempts: 1, error: "answered 400" } },
    ]);
    // A completion without a new link names the ticket the job was claimed with, and keeps the link.
    expect(await store.db.transaction((tx) => retryDelivery(tx, resolve.id, 3_600_000))).toBe(true);
    await completeDelivery(store.db, (await claim())!, null);
    expect((await timeline()).at(-1)).toEqual({ type: "ticket_resolved", detail: { connector: "servicenow", action: "resolve", ticket: "INC9", externalId: "sys-9", attempts: 2 } });
    const links = await store.db.query("SELECT external_id, external_number FROM connector_links WHERE incident_id = $1::uuid", [incidentId]);
    expect(links.rows).toEqual([{ external_id: "sys-9", external_number: "INC9" }]);
  });
});

describe.each(STORE_KINDS)("outbox backlog on $name", (kind) => {
  let store: OpenStore;
  let db: Database;
  beforeAll(async () => {
    store = await kind.open();
    // A new stack's first storm: the table has never been analyzed (and autovacuum must not do it now).
    await store.db.query("ALTER TABLE deliveries SET (autovacuum_enabled = false)");
    // On PostgreSQL every claim on one connection, as a worker's claims share one: the claim is a
    // named statement, planned on its connection's first claims, and a plan it settles on is kept.
    db = store.postgres ? openPostgres({ connectionString: store.postgres.url, maxConnections: 2 }) : store.db;
  });
  afterAll(async () => {
    if (db !== store.db) await db.close();
    await store?.close();
  });

  it("claims by walking the due jobs in order, not by reading them all, with a plan made when nothing was due and statistics that have not seen the backlog", async () => {
    // A new receiver's first claims find nothing due: whatever plan the connection keeps is made now.
    for (let i = 0; i < 8; i += 1) expect(await claimDelivery(db, ["servicenow"])).toBeNull();
    await store.db.query(
      `WITH i AS (
         INSERT INTO incidents (alert_id, alert_key, state, title, monitoring_service, family, fired_at, last_at, last_rank, last_key)
         SELECT 'b-' || g, 'b-' || g, 'open', 't', 'Platform', 'metric', now(), 'x', 0, 'k' FROM generate_series(1, 8000) g RETURNING id)
       INSERT INTO deliveries (incident_id, connector, action, payload, deadline_at)
       SELECT id, 'servicenow', 'open', '{}'::jsonb, now() + interval '1 hour' FROM i`,
    );
    // On PostgreSQL also a connection whose very first claims meet the backlog (plans made for it).
    const fresh = store.postgres ? openPostgres({ connectionString: store.postgres.url, maxConnections: 2 }) : null;
    try {
      for (const claimer of fresh ? [db, fresh, fresh, fresh, fresh, fresh, fresh] : [db, db]) {
        const { job, read } = await countingClaim(claimer);
        expect(job).toMatchObject({ action: "open", connector: "servicenow", attempts: 1 });
        // The walk passes the jobs claimed before (leased) and hands on the first free one: a few
        // rows each. A scan or a sort of the backlog reads all 8,000.
        expect(read.scanned).toBe(0);
        expect(read.fetched).toBeLessThanOrEqual(50);
      }
    } finally {
      await fresh?.close();
    }
  });
});

/** Claims through `db`, and counts the rows of `deliveries` the claim read (the server's own count, in the claim's transaction right after it ran): whatever plan ran, kept or made for it. */
async function countingClaim(db: Database) {
  let read: { scanned: number; fetched: number } | undefined;
  const counting = observingAnswers(db, async (tx, sql) => {
    if (sql !== CLAIM) return;
    const { rows } = await tx.query<{ scanned: number; fetched: number }>(
      "SELECT coalesce(seq_tup_read, 0)::int AS scanned, coalesce(idx_tup_fetch, 0)::int AS fetched FROM pg_stat_xact_user_tables WHERE relname = 'deliveries'",
    );
    read = rows[0];
  });
  const job = await claimDelivery(counting, ["servicenow"]);
  if (!read) throw new Error("the claim statement did not run");
  return { job, read };
}

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
            const job = await claimDelivery(db, ["servicenow"]);
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
            await completeDelivery(db, job, null);
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
