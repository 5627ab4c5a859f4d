/**
 * What PostgreSQL compresses of what the intake writes (migration 015): a row past 2 kB has its
 * longest values compressed as it is written — an alert's raw body, an incident's routing
 * explanation and text, a delivery's snapshot — and pglz cost about 8 µs of the server's time per
 * such row where LZ4 costs next to nothing for the same size (docs/performance.md). A server built
 * with LZ4 (PostgreSQL 14 and later, as Debian and Azure build it) compresses with it; one without,
 * and PGlite, keep pglz, and the migration applies on both.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acceptNotifications } from "../../../receiver/src/ledger/accept-notifications.ts";
import { wrapContext } from "../../support/fixtures.ts";
import { routed, serviceNowRules } from "../../support/notifications.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

const { rules, targets } = serviceNowRules([
  "noise:",
  "  - name: per-rule",
  "    match: { alertRules: [\"cpu-*\"] }",
  "    groupBy: [alertRule, subscription]",
  "    groupWait: 0s",
  "storm:",
  "  - name: outage",
  "    match: {}",
  "    maxNewTickets: 20",
  "    per: 5m",
]);

const LONG_COLUMNS: Record<string, string[]> = {
  notifications: ["raw_payload"],
  incidents: ["routing", "description", "noise", "problem_lines"],
  deliveries: ["payload"],
};

describe.each(STORE_KINDS)("compression of long values on $name", (kind) => {
  let store: OpenStore;
  beforeEach(async () => {
    store = await kind.open();
  });
  afterEach(async () => {
    await store.close();
  });

  /** Whether the server can compress with LZ4 at all: PostgreSQL lists the methods it was built with. */
  const hasLz4 = async () =>
    (await store.db.query<{ lz4: boolean }>("SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'")).rows[0]?.lz4 ?? false;

  it("compresses whatever it compresses of alerts, their incidents, a group and a delivery with LZ4 where the server has it, and reads it back whole", async () => {
    const now = new Date();
    // A rule's description runs to kilobytes in practice (runbook text): the rows pass 2 kB.
    const description = `CPU above 90 % for 15 minutes. ${"Runbook: check the scale set's instances, then the load balancer's probes. ".repeat(40)}`;
    // One alert joins a group; the other opens a ticket of its own, whose delivery carries its text.
    const alerts = ["cpu-high", "disk-full"].map((alertRule) =>
      routed(
        wrapContext("metric-static.json", {
          alertId: `/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/providers/Microsoft.AlertsManagement/alerts/compression-${alertRule}-${Date.now()}`,
          alertRule,
          description,
          firedDateTime: now.toISOString(),
        }),
        rules,
        now,
      ),
    );
    const accepted = await acceptNotifications(store.db, alerts, targets);
    expect(accepted).toMatchObject([{ admitted: true, duplicate: false }, { admitted: true, duplicate: false }]);

    const expected = (await hasLz4()) ? "lz4" : "pglz";
    // Debian's PostgreSQL (the tests' server) is built with LZ4: without it this would check only the fallback.
    if (kind.name === "postgres") expect(expected).toBe("lz4");
    for (const [table, columns] of Object.entries(LONG_COLUMNS)) {
      const methods = columns.map((c) => `pg_column_compression(${c})`).join(", ");
      const { rows } = await store.db.query<{ method: string | null }>(`SELECT DISTINCT unnest(ARRAY[${methods}]::text[]) AS method FROM ${table}`);
      const used = rows.map((r) => r.method).filter((m) => m !== null);
      // Each table wrote at least one compressed value, all with the expected method.
      expect({ table, used }).toEqual({ table, used: [expected] });
    }
    const { rows } = await store.db.query<{ description: string }>("SELECT description FROM incidents WHERE kind = 'alert'");
    expect(rows.map((r) => r.description)).toEqual([description, description]);
  });
});
