/**
 * The intake batch on both stores: batching changes nothing a user can see (the same ledger as one
 * alert at a time, under any cut of the stream), duplicates inside a batch, several replicas on
 * one PostgreSQL, and one refused alert never failing its neighbours.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptNotifications, type AcceptedNotification } from "../../../receiver/src/ledger/accept-notifications.ts";
import { GroupCommit } from "../../../receiver/src/ledger/group-commit.ts";
import type { PreparedNotification } from "../../../receiver/src/ledger/prepare-notification.ts";
import { applyNotification, compareOrder, orderOf, type Incident } from "../../../receiver/src/incidents/lifecycle.ts";
import { StoreQueryError, type Database } from "../../../receiver/src/store/database.ts";
import { openPostgres } from "../../../receiver/src/store/postgres-database.ts";
import { wrapContext } from "../../support/fixtures.ts";
import { acceptBatch } from "../../support/ledger.ts";
import { prepared } from "../../support/notifications.ts";
import { adminQuery } from "../../support/postgres.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

const SUB = "11111111-2222-3333-4444-555555555555";
const targets = { connectors: ["servicenow"], maxAgeMs: 3_600_000 };

interface Note {
  alert: number;
  condition: "Fired" | "Resolved";
  minute: number;
  vm: number;
  name: string;
}

/** A notification of alert `alert` of run `run`, on one of a few VMs, with a CI name that may bind or not. */
function payload(run: string, n: Note): unknown {
  const body = wrapContext("metric-static.json", {
    alertId: `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/${run}-${n.alert}`,
    monitorCondition: n.condition,
    firedDateTime: `2026-11-01T10:${String(n.minute).padStart(2, "0")}:00.000Z`,
    ...(n.condition === "Resolved" ? { resolvedDateTime: `2026-11-01T10:${String(n.minute + 1).padStart(2, "0")}:00.000Z` } : {}),
    alertTargetIDs: [`/subscriptions/${SUB}/resourceGroups/rg-${run}/providers/Microsoft.Compute/virtualMachines/vm${n.vm}`],
    configurationItems: [`vm${n.vm}`, n.name],
    originAlertId: "fixed",
  });
  return body;
}

const note = fc.record({
  alert: fc.integer({ min: 0, max: 4 }),
  condition: fc.constantFrom("Fired" as const, "Resolved" as const),
  minute: fc.integer({ min: 0, max: 8 }),
  vm: fc.integer({ min: 0, max: 2 }),
  name: fc.constantFrom("unbound-a", "unbound-b", "vm0"),
});

/** Everything a user can see of one run's alerts, with store-assigned ids replaced by what they stand for. */
async function ledgerOf(db: Database, run: string) {
  const like = `%/alerts/${run}-%`;
  const incidents = await db.query<Record<string, unknown>>(
    `SELECT regexp_replace(alert_id, '.*/', '') AS alert, state, resolution, severity, title, to_json(fired_at)#>>'{}' AS fired_at,
       to_json(resolved_at)#>>'{}' AS resolved_at, last_at, last_rank, last_key
     FROM incidents WHERE alert_id LIKE $1 ORDER BY alert_id`,
    [like],
  );
  const events = await db.query<Record<string, unknown>>(
    `SELECT regexp_replace(i.alert_id, '.*/', '') AS alert, e.type, to_json(e.at)#>>'{}' AS at, n.dedup_key, e.actor, e.detail::text AS detail
     FROM incident_events e JOIN incidents i ON i.id = e.incident_id LEFT JOIN notifications n ON n.id = e.notification_id
     WHERE i.alert_id LIKE $1 ORDER BY i.alert_id, e.id`,
    [like],
  );
  const links = await db.query<Record<string, unknown>>(
    `SELECT regexp_replace(i.alert_id, '.*/', '') AS alert, ci.ci_key, ci.bound, l.source
     FROM incident_configuration_items l JOIN incidents i ON i.id = l.incident_id JOIN configuration_items ci ON ci.id = l.ci_id
     WHERE i.alert_id LIKE $1 ORDER BY 1, 2`,
    [like],
  );
  const deliveries = await db.query<{ alert: string; action: string; payload: unknown }>(
    `SELECT regexp_replace(i.alert_id, '.*/', '') AS alert, d.action, d.payload
     FROM deliveries d JOIN incidents i ON i.id = d.incident_id WHERE i.alert_id LIKE $1 ORDER BY i.alert_id, d.id`,
    [like],
  );
  const notifications = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM notifications WHERE alert_id LIKE $1", [like]);
  return {
    incidents: incidents.rows,
    events: events.rows,
    links: links.rows,
    deliveries: deliveries.rows.map((d) => {
      const p = (typeof d.payload === "string" ? JSON.parse(d.payload) : d.payload) as Record<string, unknown>;
      return { alert: d.alert, action: d.action, payload: { ...p, incidentId: "-" } };
    }),
    notifications: notifications.rows[0]!.n,
  };
}

describe.each(STORE_KINDS)("intake batches on $name", (kind) => {
  let store: OpenStore;
  /** A second store of the same kind: the same stream goes into both, cut differently. */
  let twin: OpenStore;
  let runs = 0;
  beforeAll(async () => {
    [store, twin] = await Promise.all([kind.open(), kind.open()]);
  });
  afterAll(async () => {
    await store?.close();
    await twin?.close();
  });

  it("any cut of a stream into batches gives the ledger of one alert at a time: incidents, timelines, CIs, deliveries", { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(note, { minLength: 1, maxLength: 24 }), fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 24 }), async (stream, cuts) => {
        runs += 1;
        const run = `run${runs}`;
        // Some notifications twice: Azure delivers at least once.
        const sequence = stream.flatMap((n, i) => (i % 5 === 0 ? [n, n] : [n]));
        for (const n of sequence) await acceptBatch(store.db, [payload(run, n)], targets);
        let at = 0;
        for (let c = 0; at < sequence.length; c += 1) {
          const size = cuts[c % cuts.length]!;
          await acceptBatch(twin.db, sequence.slice(at, at + size).map((n) => payload(run, n)), targets);
          at += size;
        }
        expect(await ledgerOf(twin.db, run)).toEqual(await ledgerOf(store.db, run));
      }),
      { numRuns: kind.name === "pglite" ? 12 : 20 },
    );
  });

  it("answers a notification repeated inside one batch as a duplicate of the first, and several changes of one alert in order", async () => {
    const run = `same${kind.name}`;
    const fired = payload(run, { alert: 1, condition: "Fired", minute: 1, vm: 0, name: "x" });
    const resolved = payload(run, { alert: 1, condition: "Resolved", minute: 2, vm: 0, name: "x" });
    const answers = await acceptBatch(store.db, [fired, fired, resolved, fired], targets);
    expect(answers.map((a) => a.duplicate)).toEqual([false, true, false, true]);
    expect(new Set(answers.map((a) => a.incidentId)).size).toBe(1);
    expect(answers[1]!.notificationId).toBe(answers[0]!.notificationId);
    expect(answers.map((a) => a.events.map((e) => e.type))).toEqual([["opened"], [], ["resolved"], []]);
    const ledger = await ledgerOf(store.db, run);
    expect(ledger.incidents).toMatchObject([{ state: "resolved" }]);
    expect(ledger.deliveries.map((d: { action: string }) => d.action)).toEqual(["open", "resolve"]);
    expect(ledger.notifications).toBe(2);
  });

  it("stores alerts whose ids and names are longer than any index entry, and finds them again", async () => {
    const long = "x".repeat(5_000);
    const body = wrapContext("metric-static.json", {
      alertId: `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/${long}`,
      alertTargetIDs: [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${long}`],
      configurationItems: [`name-${long}`],
    });
    const [first] = await acceptBatch(store.db, [body]);
    const [again] = await acceptBatch(store.db, [{ ...body, data: { ...body.data, essentials: { ...body.data.essentials, firedDateTime: "2026-11-01T11:00:00.000Z" } } }]);
    expect(again!.incidentId).toBe(first!.incidentId);
    const { rows } = await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM configuration_items WHERE length(name) > 5000 OR length(resource_id) > 5000");
    expect(rows[0]!.n).toBe(2);
  });

  it("stores every raw body of one batch exactly as sent: multi-byte characters, any size, any whitespace", async () => {
    const run = `raw${kind.name}`;
    const texts = ["ascii", "é ü ß", "日本語の説明", "emoji 🚨🔥 and \\u escapes", "z".repeat(12_000)];
    const raws = texts.map((text, i) => {
      const body = payload(run, { alert: i, condition: "Fired", minute: 1, vm: 0, name: "x" }) as { data: { essentials: { description: string } } };
      body.data.essentials.description = text;
      return i % 2 === 0 ? JSON.stringify(body) : JSON.stringify(body, null, 3);
    });
    await acceptNotifications(store.db, raws.map((raw) => prepared(JSON.parse(raw), raw)), targets);
    const { rows } = await store.db.query<{ raw_payload: string }>("SELECT raw_payload FROM notifications WHERE alert_id LIKE $1 ORDER BY alert_id", [`%/alerts/${run}-%`]);
    expect(rows.map((r) => r.raw_payload)).toEqual(raws);
  });
});

describe("intake batches on PostgreSQL: what only a server shows", () => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await STORE_KINDS.find((k) => k.name === "postgres")!.open();
  });
  afterAll(() => store?.close());

  it("two replicas sharing one database over a few alert ids: every notification acknowledged and stored once, no deadlock, each incident converged", { timeout: 120_000 }, async () => {
    const replicas = [0, 1].map(() => openPostgres({ connectionString: store.postgres!.url, maxConnections: 3 }));
    const groups = replicas.map(
      (db) => new GroupCommit<PreparedNotification, AcceptedNotification>({ commit: (batch) => acceptNotifications(db, batch, targets), sizeOf: () => 1 }),
    );
    const sent: PreparedNotification[] = [];
    try {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 24 }, async (_, sender) => {
          for (let i = 0; i < 25; i += 1) {
            const n: Note = { alert: (sender + i) % 4, condition: (sender * i) % 3 === 0 ? "Resolved" : "Fired", minute: (sender + 3 * i) % 9, vm: i % 3, name: "unbound-a" };
            const p = prepared(payload("replicas", n));
            sent.push(p);
            await groups[(sender + i) % 2]!.submit(p);
          }
        }),
      );
      expect(outcomes.filter((o) => o.status === "rejected")).toEqual([]);
    } finally {
      await Promise.all(groups.map((g) => g.close()));
      await Promise.all(replicas.map((db) => db.close()));
    }
    const distinct = new Map(sent.map((p) => [p.dedupKey, p]));
    const stored = await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM notifications WHERE alert_id LIKE '%/alerts/replicas-%'");
    expect(stored.rows[0]!.n).toBe(distinct.size);
    // Each incident is what the state machine gives for all its notifications, whatever the interleaving.
    for (let alert = 0; alert < 4; alert += 1) {
      const mine = [...distinct.values()].filter((p) => p.alert.alertId.endsWith(`/replicas-${alert}`));
      const ordered = mine.sort((a, b) => compareOrder(orderOf({ alert: a.alert, notificationId: "", key: a.dedupKey }), orderOf({ alert: b.alert, notificationId: "", key: b.dedupKey })));
      let expected: Incident | null = null;
      for (const p of ordered) expected = applyNotification(expected, { alert: p.alert, notificationId: "", key: p.dedupKey }).incident;
      const { rows } = await store.db.query<{ state: string; last_key: string; n: number }>(
        "SELECT state, last_key, (SELECT count(*)::int FROM incidents j WHERE j.alert_id = i.alert_id) AS n FROM incidents i WHERE alert_id LIKE $1",
        [`%/replicas-${alert}`],
      );
      expect(rows).toEqual([{ state: expected!.state, last_key: expected!.last.key, n: 1 }]);
    }
  });

  it("a notification the server refuses fails alone: the rest of its batch is stored", async () => {
    await adminQuery(
      store.postgres!.url,
      `CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.alert_id LIKE '%/poison-%' THEN RAISE EXCEPTION 'value out of range' USING ERRCODE = '22003'; END IF; RETURN NEW; END $$;
       CREATE TRIGGER refuse_poison BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION refuse_poison();`,
    );
    const group = new GroupCommit<PreparedNotification, AcceptedNotification>({ commit: (batch) => acceptNotifications(store.db, batch, targets), sizeOf: () => 1 });
    const names = ["fine-1", "fine-2", "poison-3", "fine-4", "fine-5"];
    const outcomes = await Promise.allSettled(
      names.map((name) => group.submit(prepared(wrapContext("metric-static.json", { alertId: `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/${name}` })))),
    );
    await group.close();
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(StoreQueryError);
    const { rows } = await store.db.query<{ alert: string }>("SELECT regexp_replace(alert_id, '.*/', '') AS alert FROM incidents WHERE alert_id ~ '/(fine|poison)-' ORDER BY 1");
    expect(rows.map((r) => r.alert)).toEqual(["fine-1", "fine-2", "fine-4", "fine-5"]);
  });
});
