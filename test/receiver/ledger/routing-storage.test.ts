/**
 * An incident keeps the routing it was created with for its whole life (docs/routing.md), and
 * every later change goes where that routing said. The intake stores the document as a JSON
 * string inside its jsonb column, not as a jsonb object: building the object of a noise decision
 * was the largest part of what a noise alert cost PostgreSQL over routing alone
 * (docs/performance.md#per-alert-not-per-batch-2026-12-07-night). Rows written before hold the
 * object, and a receiver of any release reads both the same.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptNotifications } from "../../../receiver/src/ledger/accept-notifications.ts";
import type { PreparedNotification } from "../../../receiver/src/ledger/prepare-notification.ts";
import { getIncident } from "../../../receiver/src/store/ledger-queries.ts";
import { metricAlertNow, serviceNowRules } from "../../support/notifications.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

const SUB = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e";
const { rules, targets } = serviceNowRules([
  "routes:",
  "  - name: platform",
  "    to: [default]",
  "    set: { assignmentGroup: Platform Operations }",
  "noise:",
  "  - name: per-rule",
  "    match: { alertRules: [\"cpu-*\"] }",
  "    groupBy: [alertRule]",
  "    groupWait: 0s",
  "    flapping: { changes: 4, within: 30m, quietFor: 30m }",
  "storm:",
  "  - name: outage",
  "    match: {}",
  "    maxNewTickets: 20",
  "    per: 5m",
]);

let counter = 0;
function alertId(): string {
  counter += 1;
  return `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/routing-storage-${counter}-${Date.now()}`;
}

describe.each(STORE_KINDS)("an incident's routing on $name", (kind) => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await kind.open();
  });
  afterAll(async () => {
    await store?.close();
  });

  const accept = async (n: PreparedNotification) => {
    const [result] = await acceptNotifications(store.db, [n], targets);
    if (!result?.admitted) throw new Error("not admitted");
    return result;
  };

  const storedAs = async (incidentId: string) =>
    (await store.db.query<{ form: string }>("SELECT jsonb_typeof(routing) AS form FROM incidents WHERE id = $1::uuid", [incidentId])).rows[0]?.form;

  it("reads back exactly as the rules decided it, noise decision and explanation included, for the alert and its group", async () => {
    const fired = metricAlertNow(rules, alertId(), "cpu-high");
    const { incidentId } = await accept(fired);
    const incident = await getIncident(store.db, incidentId);
    expect(incident?.routing).toEqual(fired.routing);
    expect(incident?.routing?.noise).toMatchObject({ rule: "per-rule", flapping: { changes: 4 }, storm: { name: "outage", maxNewTickets: 20 } });
    const group = incident?.problemId ? await getIncident(store.db, incident.problemId) : null;
    expect(group?.routing?.deliveries).toEqual(fired.routing?.deliveries);
    // The stored form is what the intake's cost depends on: a string holding the document.
    expect(await storedAs(incidentId)).toBe("string");
  });

  it("reads a routing stored as an object (by a release before 2026-12-07) the same, and later changes go where it says", async () => {
    const id = alertId();
    const fired = metricAlertNow(rules, id, "disk-full");
    const { incidentId } = await accept(fired);
    await store.db.query("UPDATE incidents SET routing = (routing #>> '{}')::jsonb WHERE id = $1::uuid", [incidentId]);
    expect(await storedAs(incidentId)).toBe("object");
    expect((await getIncident(store.db, incidentId))?.routing).toEqual(fired.routing);

    await accept(metricAlertNow(rules, id, "disk-full", "Resolved"));
    const { rows } = await store.db.query<{ connector: string; payload: { fields?: Record<string, string> } }>(
      "SELECT connector, payload FROM deliveries WHERE incident_id = $1::uuid AND action = 'resolve'",
      [incidentId],
    );
    expect(fired.routing?.deliveries[0]?.fields).toEqual({ assignment_group: "Platform Operations" });
    expect(rows.map((r) => [r.connector, r.payload.fields])).toEqual([["default", fired.routing?.deliveries[0]?.fields]]);
    expect((await getIncident(store.db, incidentId))?.state).toBe("resolved");
  });
});
