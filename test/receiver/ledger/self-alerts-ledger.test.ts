/** On both stores: one incident per self-alert condition, resolved by its "Resolved", opened again by a later "Fired". */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SelfAlert } from "../../../receiver/src/alerts/self-alert.ts";
import { acceptNotifications, type AcceptedNotification } from "../../../receiver/src/ledger/accept-notifications.ts";
import type { PreparedNotification } from "../../../receiver/src/ledger/prepare-notification.ts";
import { submitSelfAlert } from "../../../receiver/src/ledger/self-alerts.ts";
import { noRoutingRules } from "../../../receiver/src/routing/load-rules.ts";
import { lockIncidentsByAlertId } from "../../../receiver/src/store/incidents.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

const at = (minute: number) => new Date(Date.UTC(2026, 11, 6, 10, minute));
const condition = (c: "Fired" | "Resolved", fired: number, resolved?: number): SelfAlert => ({
  key: "credential-expiry/servicenow",
  condition: c,
  rule: "secure-export credential expiry",
  severity: "Sev2",
  description: "The ServiceNow client secret expires in 10 days",
  firedAt: at(fired),
  ...(resolved !== undefined ? { resolvedAt: at(resolved) } : {}),
});

describe.each(STORE_KINDS)("self alerts on $name", (kind) => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await kind.open();
  });
  afterAll(() => store.close());

  const intake = {
    submit: async (n: PreparedNotification): Promise<AcceptedNotification> => (await acceptNotifications(store.db, [n], { connectors: ["default"], maxAgeMs: 60_000 }))[0]!,
  };
  const incident = async () => (await store.db.transaction((tx) => lockIncidentsByAlertId(tx, ["secure-export/credential-expiry/servicenow"])))[0]!;

  it("opens one incident, resolves it, and opens it again when the condition returns", async () => {
    const rules = noRoutingRules([]);
    const opened = await submitSelfAlert(intake, rules, condition("Fired", 0));
    expect(opened).toMatchObject({ admitted: true, duplicate: false });
    expect((await incident()).state).toBe("open");
    const again = await submitSelfAlert(intake, rules, condition("Fired", 0));
    expect(again).toMatchObject({ admitted: true, duplicate: true });
    await submitSelfAlert(intake, rules, condition("Resolved", 0, 30));
    expect((await incident()).state).toBe("resolved");
    const reopened = await submitSelfAlert(intake, rules, condition("Fired", 40));
    expect(reopened.admitted && reopened.incidentId).toBe(opened.admitted && opened.incidentId);
    expect((await incident()).state).toBe("open");
  });
});
