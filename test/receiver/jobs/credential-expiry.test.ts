/**
 * The credential expiry check against a real store (jobs/credential-expiry.ts): one incident per
 * credential however often and on however many replicas it runs, resolved once the date moved on.
 */
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkCredentialsOnce, startCredentialExpiryCheck } from "../../../receiver/src/jobs/credential-expiry.ts";
import { acceptNotifications, type AcceptedNotification } from "../../../receiver/src/ledger/accept-notifications.ts";
import type { PreparedNotification } from "../../../receiver/src/ledger/prepare-notification.ts";
import { noRoutingRules } from "../../../receiver/src/routing/load-rules.ts";
import { listIncidents } from "../../../receiver/src/store/ledger-queries.ts";
import { eventually } from "../../support/eventually.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

const DAY_MS = 86_400_000;
const log = pino({ level: "silent" });

describe.each(STORE_KINDS)("the credential expiry check on $name", (kind) => {
  // A store per test: each look resolves whatever open credential incident it is not told about.
  let store: OpenStore;
  const submitted: string[] = [];
  beforeEach(async () => {
    store = await kind.open();
    submitted.length = 0;
  });
  afterEach(() => store?.close());

  const intake = {
    submit: async (n: PreparedNotification): Promise<AcceptedNotification> => {
      submitted.push(`${n.alert.alertId} ${n.alert.monitorCondition}`);
      return (await acceptNotifications(store.db, [n], { connectors: ["default"], maxAgeMs: 60_000 }))[0]!;
    },
  };
  const options = (...credentials: Array<[connector: string, expiresAt: string | null]>) => ({
    db: store.db,
    intake,
    routing: noRoutingRules([]),
    credentials: credentials.map(([connector, expiresAt]) => ({ connector, credential: "password", expiresAt })),
    warnDays: 14,
    log,
  });
  const incident = async (connector: string) => (await listIncidents(store.db, { alertId: `secure-export/credential-expiry/${connector}`, limit: 5 }))[0];

  it("raises one incident across two replicas and repeated looks", async () => {
    const soon = new Date(Date.now() + 3 * DAY_MS).toISOString();
    const jobs = ["replica-a", "replica-b"].map((holder) => startCredentialExpiryCheck({ ...options(["helix", soon]), holder, intervalMs: 250 }));
    await eventually(() => submitted.length > 0, "the alert submitted");
    // Several more looks by each (the lease lasts two intervals, far longer than a look takes).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await Promise.all(jobs.map((job) => job.stop()));
    expect(submitted).toEqual(["secure-export/credential-expiry/helix Fired"]);
    expect(await incident("helix")).toMatchObject({ state: "open", severity: "Sev2" });
  });

  it("raises nothing twice, resolves once the date is beyond the window, and says nothing of an unwatched credential with no incident", async () => {
    expect(await checkCredentialsOnce(options(["servicenow", new Date(Date.now() - DAY_MS).toISOString()]))).toEqual([{ connector: "servicenow", condition: "Fired" }]);
    expect(await incident("servicenow")).toMatchObject({ state: "open", severity: "Sev1" });
    expect(await checkCredentialsOnce(options(["servicenow", new Date(Date.now() - DAY_MS).toISOString()]))).toEqual([]);
    expect(await checkCredentialsOnce(options(["servicenow", new Date(Date.now() + 200 * DAY_MS).toISOString()]))).toEqual([{ connector: "servicenow", condition: "Resolved" }]);
    expect(await incident("servicenow")).toMatchObject({ state: "resolved" });
    expect(await checkCredentialsOnce(options(["servicenow", new Date(Date.now() + 200 * DAY_MS).toISOString()]))).toEqual([]);
    expect(await checkCredentialsOnce(options(["servicenow", null]))).toEqual([]);
  });

  it("resolves the open incident of a credential whose date, or whose connector, was removed", async () => {
    const expired = new Date(Date.now() - DAY_MS).toISOString();
    await checkCredentialsOnce(options(["dated", expired], ["renamed", expired]));
    expect(await checkCredentialsOnce(options(["dated", null]))).toEqual([
      { connector: "dated", condition: "Resolved" },
      { connector: "renamed", condition: "Resolved" },
    ]);
    expect(await incident("dated")).toMatchObject({ state: "resolved" });
    expect(await incident("renamed")).toMatchObject({ state: "resolved" });
  });
});
