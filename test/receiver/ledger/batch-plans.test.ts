/**
 * The intake batch's statements, and those of the release of held alerts into a group, on a
 * ledger that has outgrown its statistics (a new stack's first
 * storm; on the embedded store always, where nothing analyzes): each must find the rows it names by
 * their index, never read a whole table. The planner takes a batch's JSON records (and a union of
 * ids) for 100 rows; against a table it believes small, a hash join that reads every row looks
 * cheaper than 100 index lookups — and every batch then read all notifications, all incidents or all
 * CIs, a cost that grows with the ledger until the statistics catch up. The named statements run
 * from generic plans (store/database.ts PLAN_LIFETIME): the plans they run are checked too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptNotifications } from "../../../receiver/src/ledger/accept-notifications.ts";
import type { PreparedNotification } from "../../../receiver/src/ledger/prepare-notification.ts";
import { releaseHeldIncidents } from "../../../receiver/src/ledger/release-held-incidents.ts";
import type { Transaction } from "../../../receiver/src/store/database.ts";
import { wrapContext } from "../../support/fixtures.ts";
import { flatten, type PlanNode } from "../../support/plans.ts";
import { routed, serviceNowRules } from "../../support/notifications.ts";
import { recordingStatements } from "../../support/statements.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

const SUB = "0b0b0b0b-1c1c-2d2d-3e3e-4f4f4f4f4f4f";
// Every kind of noise row a batch locks and writes: a group, a storm guard past its budget; and
// held alerts that a release later puts in a group.
const { rules, targets } = serviceNowRules([
  "noise:",
  "  - name: per-rule",
  "    match: { alertRules: [\"cpu\"] }",
  "    groupBy: [alertRule]",
  "    groupWait: 0s",
  "    groupInterval: 1m",
  "  - name: held",
  "    match: { alertRules: [\"blip\"] }",
  "    groupBy: [alertRule]",
  "    groupWait: 0s",
  "    holdFor: 5m",
  "storm:",
  "  - name: outage",
  "    match: { alertRules: [\"outage\"] }",
  "    maxNewTickets: 1",
  "    per: 10m",
]);

const FILLER = 8_000;
const BIG_TABLES = ["notifications", "incidents", "configuration_items", "incident_configuration_items", "incident_events", "deliveries"];


function notification(n: number, rule: string, condition: "Fired" | "Resolved" = "Fired"): PreparedNotification {
  const now = new Date();
  const payload = wrapContext("metric-static.json", {
    alertId: `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/plans-${n}`,
    alertRule: rule,
    monitorCondition: condition,
    firedDateTime: new Date(now.getTime() - 60_000).toISOString(),
    ...(condition === "Resolved" ? { resolvedDateTime: now.toISOString() } : {}),
    alertTargetIDs: [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-${n}`],
    configurationItems: [`vm-${n}`],
  });
  return routed(payload, rules, now);
}

describe.each(STORE_KINDS)("the intake batch's plans on a ledger without statistics, $name", (kind) => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await kind.open();
    // Never analyzed, and autovacuum must not analyze them during the test.
    for (const table of BIG_TABLES) await store.db.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
    await store.db.query(
      `INSERT INTO notifications (dedup_key, alert_id, monitor_condition, monitoring_service, raw_payload, caller_tenant_id, caller_app_id, token_version)
       SELECT 'filler-' || g, 'filler-' || g, 'Fired', 'Platform', '{}', 't', 'a', '1.0' FROM generate_series(1, ${FILLER}) g`,
    );
    await store.db.query(
      `INSERT INTO incidents (alert_id, alert_key, state, title, monitoring_service, family, fired_at, last_at, last_rank, last_key)
       SELECT 'filler-' || g, 'filler-' || g, 'open', 't', 'Platform', 'metric', now(), 'x', 0, 'k' FROM generate_series(1, ${FILLER}) g`,
    );
    await store.db.query(
      `INSERT INTO configuration_items (ci_key, name, bound) SELECT 'n:filler-' || g, 'filler-' || g, false FROM generate_series(1, ${FILLER}) g`,
    );
    await store.db.query(
      `INSERT INTO incident_configuration_items (incident_id, ci_id, source)
       SELECT i.id, ci.id, 'name' FROM incidents i JOIN configuration_items ci ON ci.name = i.alert_id`,
    );
  }, 120_000);
  afterAll(() => store?.close());

  it("finds each row it names by index: new alerts, resolves, duplicates, a group and a storm, and the release of held alerts", async () => {
    // The first batch opens incidents, a group and the storm's ticket budget; the second repeats,
    // resolves and adds to all of them, which is where earlier rows are looked up.
    const first = [notification(1, "cpu"), notification(2, "cpu"), notification(3, "outage"), notification(4, "outage"), notification(5, "plain"), notification(9, "blip")];
    await acceptNotifications(store.db, first, targets);
    const { db, statements } = recordingStatements(store.db);
    const second = [first[0]!, notification(1, "cpu", "Resolved"), notification(6, "cpu"), notification(4, "outage", "Resolved"), notification(7, "outage"), notification(5, "plain", "Resolved"), notification(8, "plain"), notification(10, "blip")];
    const accepted = await acceptNotifications(db, second, targets);
    expect(accepted.map((a) => a.duplicate)).toEqual([true, false, false, false, false, false, false, false]);
    // Once their hold is over, the two held alerts go into one group, with their CIs.
    const released = await releaseHeldIncidents(db, targets, new Date(Date.now() + 10 * 60_000));
    expect(released.map((r) => [r.incident.alertRule, r.sent, r.incident.problemId !== null])).toEqual([["blip", true, true], ["blip", true, true]]);
    expect(statements.length).toBeGreaterThan(5);

    const scans: string[] = [];
    const scanned = (explained: unknown, what: string) => {
      const plan = (typeof explained === "string" ? JSON.parse(explained) : explained) as Array<{ Plan: PlanNode }>;
      for (const node of flatten(plan[0]!.Plan)) {
        if (node["Node Type"] === "Seq Scan" && BIG_TABLES.includes(node["Relation Name"]!)) scans.push(`${node["Relation Name"]} in: ${what}`);
      }
    };
    // The intake's named statements are prepared on the connection it uses (on PostgreSQL its own; pipelined transactions run there).
    const onIntake = <T,>(work: (tx: Transaction) => Promise<T>) => store.db.transaction(work, { pipelined: true });
    const prepared = new Map(
      (await onIntake((tx) => tx.query<{ name: string; statement: string; types: string[] }>("SELECT name, statement, parameter_types::text[] AS types FROM pg_prepared_statements"))).rows.map((r) => [r.statement, r]),
    );
    // EXPLAIN EXECUTE takes no parameters: each value as a literal of the statement's parameter type, quoted by the server.
    const literals = async (types: string[], params: readonly unknown[]) => {
      const quoted: string[] = [];
      for (const [i, type] of types.entries()) quoted.push(`${(await store.db.query<{ lit: string }>(`SELECT quote_nullable($1::${type}) AS lit`, [params[i]])).rows[0]!.lit}::${type}`);
      return quoted.join(", ");
    };
    for (const { sql, params, name } of statements) {
      const what = sql.replace(/\s+/g, " ").slice(0, 100);
      const { rows } = await store.db.query<Record<string, unknown>>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      scanned(Object.values(rows[0]!)[0], what);
      // A named statement runs from its generic plan (store/database.ts PLAN_LIFETIME): that plan, as it runs.
      if (name) {
        const statement = prepared.get(sql);
        expect(statement, `${name} is prepared on the intake's connection`).toBeDefined();
        const args = await literals(statement!.types, params);
        const generic = await onIntake((tx) => tx.query<Record<string, unknown>>(`EXPLAIN (FORMAT JSON) EXECUTE "${statement!.name}"(${args})`));
        scanned(Object.values(generic.rows[0]!)[0], `the generic plan of ${what}`);
      }
    }
    expect(scans).toEqual([]);
  }, 60_000);
});
