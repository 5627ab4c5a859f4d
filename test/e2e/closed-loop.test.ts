/**
 * The closed loop end to end, on both stores (docs/incidents.md#the-closed-loop): a person closes
 * the ticket in ServiceNow or BMC Helix → the ledger resolves → the Azure alert is Closed with a
 * comment saying who closed it where. Through the push door (a Business Rule, a webhook, with
 * Entra tokens from the local issuer), through the poll alone, and through reconciliation when
 * Azure's "Resolved" was lost. Every stand-in applies its documented contract: the ARM one the
 * published REST specification, the managed-identity one its token endpoint.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_APP_ID_URI, LOCAL_BMC_HELIX_SYNC_CLIENT_ID, LOCAL_OPERATOR_CLIENT_ID, LOCAL_SERVICENOW_SYNC_CLIENT_ID, LOCAL_TENANT_ID } from "../../receiver/local/local-identity.ts";
import { AZURE_ALERTS } from "../../receiver/src/azure/alerts.ts";
import { armClient } from "../../receiver/src/azure/arm.ts";
import { managedIdentityToken } from "../../receiver/src/azure/managed-identity.ts";
import { createConnector } from "../../receiver/src/connectors/kinds.ts";
import { ticketSyncOf } from "../../receiver/src/connectors/tickets.ts";
import { pollConnector } from "../../receiver/src/jobs/itsm-poll.ts";
import { reconcileOnce } from "../../receiver/src/jobs/reconcile.ts";
import { createMetrics } from "../../receiver/src/metrics.ts";
import { pino } from "pino";
import { startArmFake, type ArmFake } from "../fakes/arm-fake.ts";
import { startBmcHelixFake, type BmcHelixFake } from "../fakes/bmc-helix-fake.ts";
import { startManagedIdentityFake, type ManagedIdentityFake } from "../fakes/managed-identity-fake.ts";
import { startServiceNowFake, type ServiceNowFake } from "../fakes/servicenow-fake.ts";
import { operatorClient } from "../support/api.ts";
import { eventually } from "../support/eventually.ts";
import { wrapContext } from "../support/fixtures.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";

const SUB = "11111111-2222-3333-4444-555555555555";
const FAST_OUTBOX = { OUTBOX_POLL_MS: "20", OUTBOX_RETRY_BASE_SECONDS: "0", OUTBOX_RETRY_MAX_SECONDS: "1", OUTBOX_MAX_AGE_SECONDS: "600" };
const silent = pino({ level: "silent" });

describe.each(STORE_KINDS)("the closed loop on $name", (kind) => {
  let store: OpenStore;
  let serviceNow: ServiceNowFake;
  let helix: BmcHelixFake;
  let arm: ArmFake;
  let identity: ManagedIdentityFake;
  let stack: TestStack;
  let api: ReturnType<typeof operatorClient>;
  let env: Record<string, string>;

  beforeAll(async () => {
    store = await kind.open();
    [serviceNow, helix, arm, identity] = await Promise.all([startServiceNowFake(), startBmcHelixFake(), startArmFake(), startManagedIdentityFake()]);
    env = {
      ...FAST_OUTBOX,
      ROUTING_RULES: JSON.stringify({
        connectors: {
          snow: { kind: "servicenow", url: serviceNow.url, auth: { username: serviceNow.username, passwordEnv: "SNOW_PASSWORD" }, syncClients: [LOCAL_SERVICENOW_SYNC_CLIENT_ID] },
          helix: { kind: "bmc-helix", url: helix.url, auth: { username: helix.username, passwordEnv: "HELIX_PASSWORD" }, firstName: "Azure", lastName: "Monitor", syncClients: [LOCAL_BMC_HELIX_SYNC_CLIENT_ID] },
        },
        routes: [
          { name: "noted", match: { alertRules: ["noted-*"] }, to: ["snow"], onRefireAfterClose: "note" },
          { name: "helix-only", match: { alertRules: ["helix-*"] }, to: ["helix"] },
          { name: "everything", to: ["snow"] },
        ],
      }),
      SNOW_PASSWORD: serviceNow.password,
      HELIX_PASSWORD: helix.password,
      AZURE_ALERT_SYNC: "on",
      AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
      AZURE_CLIENT_ID: identity.clientId,
      IDENTITY_ENDPOINT: identity.identityEndpoint,
      IDENTITY_HEADER: identity.identityHeader,
    };
    stack = await startTestStack({ db: store.db, env });
    api = operatorClient(stack.issuer, stack.receiver.url);
  });
  afterAll(async () => {
    await stack?.close();
    await Promise.all([serviceNow?.close(), helix?.close(), arm?.close(), identity?.close()]);
    await store?.close();
  });
  afterEach(() => {
    serviceNow.setBusinessRule(null);
    helix.setWebhook(null);
    arm.allow(SUB);
    arm.failNext(0, 503);
  });

  const tokenUrl = () => `${stack.issuer.url}/${LOCAL_TENANT_ID}/oauth2/v2.0/token`;
  const businessRule = (scope: string | null = `${LOCAL_APP_ID_URI}/.default`) => ({ receiverUrl: stack.receiver.url, connector: "snow", tokenUrl: tokenUrl(), clientId: LOCAL_SERVICENOW_SYNC_CLIENT_ID, ...(scope ? { scope } : {}) });

  /** A firing alert Azure knows of, its incident, and its ticket (created through the outbox). */
  async function firing(rule = "cpu-high"): Promise<{ alertId: string; incident: any; payload: any }> {
    const alertId = `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/${randomUUID()}`;
    arm.addAlert(alertId);
    const payload = wrapContext("metric-static.json", { alertId, alertRule: `${rule}-${kind.name}` });
    expect((await stack.postAlert(payload)).status).toBe(202);
    const incident = await eventually(async () => {
      const found = await api.incidentFor(alertId);
      return found?.deliveries.some((d: any) => d.action === "open" && d.status === "delivered") ? found : null;
    }, "the ticket to be created");
    return { alertId, incident, payload };
  }
  const ticketOf = (incident: any, connector = "snow") => incident.deliveries.find((d: any) => d.connector === connector);
  const snRow = (sysId: string) => serviceNow.incidents().find((r) => r.sys_id === sysId)!;
  const timeline = async (incidentId: string) => (await api.get(`/api/incidents/${incidentId}`)).body.timeline as any[];
  /** The ledger's own events, without the outbox's ITSM steps (ticket_*, delivery_*), which follow them as deliveries land. */
  const ledgerEvents = (events: any[]) => events.filter((e) => !/^(ticket|delivery)_/.test(e.type));
  const closedInAzure = (alertId: string) => eventually(() => (arm.alert(alertId)?.alertState === "Closed" ? arm.alert(alertId) : null), "the Azure alert to be Closed");

  it("a person closes the ticket in ServiceNow → the incident resolves by itsm → the Azure alert is Closed with who, where and the ticket", async () => {
    const { alertId, incident, payload } = await firing();
    const sysId = ticketOf(incident).externalId;
    const number = snRow(sysId).number;
    serviceNow.setBusinessRule(businessRule());
    const callout = await serviceNow.personChanges(sysId, { user: "jane.doe", state: "7", closeCode: "Solution provided", closeNotes: "rebooted the VM" });
    expect(callout).toMatchObject({ tokenStatus: 200, status: 200, answer: { outcome: "resolved", incidentId: incident.id } });

    const resolved = (await api.get(`/api/incidents/${incident.id}`)).body;
    expect(resolved).toMatchObject({ state: "resolved", resolution: "itsm" });
    expect(ledgerEvents(resolved.timeline).at(-1)).toMatchObject({
      type: "resolved",
      actor: "jane.doe",
      detail: { resolution: "itsm", connector: "snow", tool: "ServiceNow", ticket: number, ticketState: "closed", closeCode: "Solution provided", note: "rebooted the VM" },
    });
    const closed = await closedInAzure(alertId);
    expect(closed.changes).toEqual([{ newState: "Closed", comments: `Closed by jane.doe in ServiceNow (connector snow, ticket ${number}), close code "Solution provided": rebooted the VM`, apiVersion: "2019-03-01" }]);
    // The ticket the person closed is left as they left it: nothing goes back to where the close came from.
    expect(snRow(sysId)).toMatchObject({ state: "7", sys_updated_by: "jane.doe" });
    expect((await api.get(`/api/deliveries?incidentId=${incident.id}`)).body.items.map((d: any) => `${d.connector}:${d.action}`).sort()).toEqual([`${AZURE_ALERTS}:resolve`, "snow:open"]);

    // Azure's own "Resolved" later changes nothing: still resolved by the person, nothing more sent.
    payload.data.essentials.monitorCondition = "Resolved";
    payload.data.essentials.resolvedDateTime = new Date(Date.now() + 60_000).toISOString();
    expect((await stack.postAlert(payload)).status).toBe(202);
    const after = (await api.get(`/api/incidents/${incident.id}`)).body;
    expect(after).toMatchObject({ state: "resolved", resolution: "itsm" });
    expect(ledgerEvents(after.timeline).at(-1)).toMatchObject({ type: "details_updated", detail: { alreadyResolvedBy: "itsm" } });
    expect((await api.get(`/api/deliveries?incidentId=${incident.id}`)).body.items).toHaveLength(2);
    expect(arm.alert(alertId)?.changes).toHaveLength(1);
  });

  it("a Business Rule whose OAuth profile has no scope gets AADSTS90014 from Entra, and nothing changes", async () => {
    const { incident } = await firing();
    serviceNow.setBusinessRule(businessRule(null));
    const callout = await serviceNow.personChanges(ticketOf(incident).externalId, { user: "jane.doe", state: "6", closeCode: "Solution provided", closeNotes: "x" });
    expect(callout).toMatchObject({ tokenStatus: 400, tokenError: expect.stringContaining("AADSTS90014") });
    expect((await api.get(`/api/incidents/${incident.id}`)).body.state).toBe("open");
  });

  it("the poll alone does the same, for an instance that cannot call out, and repeats nothing", async () => {
    const { alertId, incident } = await firing();
    const sysId = ticketOf(incident).externalId;
    await serviceNow.personChanges(sysId, { user: "sam.ops", state: "6", closeCode: "Workaround provided", closeNotes: "restarted" });
    const config = stack.config.routing.connectors.find((c) => c.name === "snow")!.config;
    const connector = { name: "snow", tickets: ticketSyncOf(createConnector("snow", config))!, pollEveryMs: 60_000 };
    const metrics = createMetrics();
    const targets = { connectors: ["snow", "helix"], maxAgeMs: 600_000, alertSync: true };
    // It also finds the close whose Business Rule could not get a token (the test before): nothing stays open.
    const first = await pollConnector({ db: store.db, connector, targets, metrics });
    expect(first.resolved).toBeGreaterThanOrEqual(1);
    const resolved = (await api.get(`/api/incidents/${incident.id}`)).body;
    expect(resolved).toMatchObject({ state: "resolved", resolution: "itsm" });
    expect(ledgerEvents(resolved.timeline).at(-1)).toMatchObject({ type: "resolved", actor: "sam.ops", detail: { ticketState: "resolved", closeCode: "Workaround provided" } });
    expect((await closedInAzure(alertId)).changes[0]!.comments).toContain("Closed by sam.ops in ServiceNow");
    // The next poll starts where this one ended: nothing is applied twice.
    const again = await pollConnector({ db: store.db, connector, targets, metrics });
    expect(again.resolved ?? 0).toBe(0);
    expect(arm.alert(alertId)?.changes).toHaveLength(1);
  });

  it("BMC Helix: a person resolves the incident, the webhook says so, the Azure alert is Closed", async () => {
    const { alertId, incident } = await firing("helix-disk");
    const number = ticketOf(incident, "helix").externalId;
    helix.setWebhook({ receiverUrl: stack.receiver.url, connector: "helix", tokenUrl: tokenUrl(), clientId: LOCAL_BMC_HELIX_SYNC_CLIENT_ID, scope: `${LOCAL_APP_ID_URI}/.default` });
    const callout = await helix.personChanges(number, { user: "Allen", status: "Resolved", statusReason: "No Further Action Required", resolution: "disk cleaned" });
    expect(callout).toMatchObject({ status: 200, answer: { outcome: "resolved" } });
    expect((await closedInAzure(alertId)).changes[0]!.comments).toBe(`Closed by Allen in BMC Helix (connector helix, ticket ${number}), close code "No Further Action Required": disk cleaned`);
  });

  it("an acknowledgement and a comment from the CLI's API reach the ticket; the acknowledgement reaches the Azure alert too", async () => {
    const { alertId, incident } = await firing();
    const sysId = ticketOf(incident).externalId;
    expect((await api.post(`/api/incidents/${incident.id}/acknowledge`, { note: "looking" })).status).toBe(200);
    expect((await api.post(`/api/incidents/${incident.id}/comment`, { note: "it is the disk" })).status).toBe(200);
    await eventually(() => serviceNow.workNotes(sysId).length >= 2, "the ticket's work notes");
    expect(serviceNow.workNotes(sysId)).toEqual([expect.stringContaining(`Acknowledged by ${"0e1d2c3b"}`.slice(0, 16)), expect.stringContaining("it is the disk")]);
    await eventually(() => arm.alert(alertId)?.alertState === "Acknowledged", "the Azure alert to be Acknowledged");
    expect(ledgerEvents(await timeline(incident.id)).slice(-2).map((e) => e.type)).toEqual(["acknowledged", "commented"]);
    // And `incidents resolve` closes the Azure alert.
    expect((await api.post(`/api/incidents/${incident.id}/resolve`, { note: "fixed" })).status).toBe(200);
    expect((await closedInAzure(alertId)).changes.at(-1)!.comments).toMatch(/^Resolved by .* in secure-export: fixed$/);
  });

  it("a hostile or replayed event cannot close another connector's ticket or reopen a resolved one without cause", async () => {
    const { incident } = await firing();
    const { incident: helixIncident } = await firing("helix-net");
    const sysId = ticketOf(incident).externalId;
    const helixNumber = ticketOf(helixIncident, "helix").externalId;
    const send = async (connector: string, body: unknown, client = LOCAL_SERVICENOW_SYNC_CLIENT_ID, claims: Record<string, unknown> = {}) => {
      const token = await stack.issuer.mint({ callerId: client, audience: LOCAL_APP_ID_URI, claims });
      const response = await fetch(`${stack.receiver.url}/api/connectors/${connector}/events`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as any };
    };
    const event = (over: Record<string, unknown> = {}) => ({ eventId: randomUUID(), ticket: sysId, state: "closed", by: "mallory", at: new Date().toISOString(), ...over });

    // ServiceNow's client cannot speak for BMC Helix, nor about a ticket ServiceNow did not create.
    expect(await send("helix", event({ ticket: helixNumber }))).toMatchObject({ status: 403, body: { error: "insufficient_scope" } });
    expect(await send("snow", event({ ticket: helixNumber }))).toMatchObject({ status: 404, body: { error: "not_found" } });
    // The secure webhook's identity, an operator, a user's delegated token: not this door.
    expect((await send("snow", event(), "461e8683-5575-4561-ac7f-899cc907d62a")).status).toBe(403);
    expect((await send("snow", event(), LOCAL_OPERATOR_CLIENT_ID)).status).toBe(403);
    expect((await send("snow", event(), LOCAL_SERVICENOW_SYNC_CLIENT_ID, { scp: "user_impersonation", idtyp: "user" })).status).toBe(403);
    // A close the ticket does not show is not believed.
    expect(await send("snow", event())).toMatchObject({ status: 200, body: { outcome: "not_confirmed" } });
    expect((await api.get(`/api/incidents/${incident.id}`)).body.state).toBe("open");

    // Closed for real; then a replay of that event, and a "reopened" the ticket does not show, change nothing.
    await serviceNow.personChanges(sysId, { user: "jane.doe", state: "7", closeCode: "Solution provided", closeNotes: "done" });
    const real = event({ by: "jane.doe" });
    expect(await send("snow", real)).toMatchObject({ status: 200, body: { outcome: "resolved" } });
    expect(await send("snow", real)).toMatchObject({ status: 200, body: { outcome: "duplicate" } });
    expect(await send("snow", event({ state: "reopened" }))).toMatchObject({ status: 200, body: { outcome: "not_confirmed" } });
    expect((await api.get(`/api/incidents/${incident.id}`)).body).toMatchObject({ state: "resolved", resolution: "itsm" });
    // Malformed events are refused before anything is read.
    expect((await send("snow", { ...event(), state: "deleted" })).status).toBe(400);
    expect((await send("snow", { ...event(), at: "yesterday" })).status).toBe(400);
  });

  it("an ITSM that cannot be read back answers 503, and the same event succeeds when it can", async () => {
    const { incident } = await firing();
    const sysId = ticketOf(incident).externalId;
    await serviceNow.personChanges(sysId, { user: "jane.doe", state: "7", closeCode: "Solution provided", closeNotes: "done" });
    const token = await stack.issuer.mint({ callerId: LOCAL_SERVICENOW_SYNC_CLIENT_ID, audience: LOCAL_APP_ID_URI });
    const body = JSON.stringify({ eventId: `outage-${kind.name}`, ticket: sysId, state: "closed", by: "jane.doe", at: new Date().toISOString() });
    const post = () => fetch(`${stack.receiver.url}/api/connectors/snow/events`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body });
    serviceNow.down();
    const refused = await post();
    serviceNow.up();
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(await (await post()).json()).toMatchObject({ outcome: "resolved" });
  });

  it("a lost Resolved is caught by reconciliation; ARM's 403 and 429 are reported and nothing is lost", async () => {
    const { alertId, incident } = await firing();
    arm.resolveAlert(alertId);
    const later = () => new Date(Date.now() + 3_600_000);
    const client = armClient({ endpoint: arm.url, token: managedIdentityToken({ resource: arm.url, purpose: "ARM", code: "ARM", clientId: identity.clientId, env: { IDENTITY_ENDPOINT: identity.identityEndpoint, IDENTITY_HEADER: identity.identityHeader } }) });
    const run = () => reconcileOnce({ db: store.db, arm: client, targets: { connectors: ["snow", "helix"], maxAgeMs: 600_000, alertSync: true }, metrics: createMetrics(), log: silent, intervalMs: 900_000, now: later });

    arm.forbid(SUB);
    expect(await run()).toMatchObject({ forbidden: [SUB], resolved: 0 });
    arm.allow(SUB);
    arm.failNext(1, 429, 3);
    expect(await run()).toMatchObject({ throttled: true, resolved: 0 });
    expect((await api.get(`/api/incidents/${incident.id}`)).body.state).toBe("open");

    const report = await run();
    expect(report.resolved).toBeGreaterThanOrEqual(1);
    const resolved = (await api.get(`/api/incidents/${incident.id}`)).body;
    expect(resolved).toMatchObject({ state: "resolved", resolution: "reconciliation" });
    expect(ledgerEvents(resolved.timeline).at(-1)).toMatchObject({ type: "resolved", detail: { resolution: "reconciliation", monitorCondition: "Resolved", alertState: "New" } });
    // The ticket is resolved, saying why; Azure, which told us, is not written to.
    await eventually(() => snRow(ticketOf(incident).externalId).state === "6", "the ticket to be resolved");
    expect(snRow(ticketOf(incident).externalId).close_notes).toContain("Resolved by reconciliation: Azure reports monitorCondition Resolved");
    expect(arm.alert(alertId)?.changes).toEqual([]);
  });

  it("the write-back waits out ARM's 403 and 429, shows why meanwhile, and closes the alert once", async () => {
    const { alertId, incident } = await firing();
    arm.forbid(SUB);
    expect((await api.post(`/api/incidents/${incident.id}/resolve`, { note: "by hand" })).status).toBe(200);
    const failing = await eventually(async () => {
      const items = (await api.get(`/api/deliveries?incidentId=${incident.id}`)).body.items as any[];
      return items.find((d) => d.connector === AZURE_ALERTS && d.lastError?.includes("403 AuthorizationFailed"));
    }, "the 403 to show on the delivery");
    expect(failing).toMatchObject({ status: "pending", action: "resolve" });
    arm.failNext(1, 429, 1);
    arm.allow(SUB);
    await closedInAzure(alertId);
    expect(arm.alert(alertId)?.changes).toHaveLength(1);
    expect(arm.requests.filter((r) => r.path.includes(alertId.split("/").pop()!) && r.status === 429)).toHaveLength(1);
  });

  it("an alert that fires again after a person closed it follows the route: `note` adds a work note to the closed ticket", async () => {
    const { incident, payload } = await firing("noted-cpu");
    const sysId = ticketOf(incident).externalId;
    serviceNow.setBusinessRule(businessRule());
    await serviceNow.personChanges(sysId, { user: "jane.doe", state: "7", closeCode: "Solution provided", closeNotes: "done" });
    payload.data.essentials.firedDateTime = new Date(Date.now() + 60_000).toISOString();
    expect((await stack.postAlert(payload)).status).toBe(202);
    await eventually(() => serviceNow.workNotes(sysId).some((n) => n.includes("fired the alert again")), "the work note");
    expect((await api.get(`/api/incidents/${incident.id}`)).body).toMatchObject({ state: "resolved", resolution: "itsm" });
    expect(snRow(sysId).state).toBe("7");
  });

  it("by default (`new`) it opens a new ticket and the incident again", async () => {
    const { incident, payload } = await firing();
    const sysId = ticketOf(incident).externalId;
    serviceNow.setBusinessRule(businessRule());
    await serviceNow.personChanges(sysId, { user: "jane.doe", state: "7", closeCode: "Solution provided", closeNotes: "done" });
    payload.data.essentials.firedDateTime = new Date(Date.now() + 60_000).toISOString();
    expect((await stack.postAlert(payload)).status).toBe(202);
    const reopened = await eventually(async () => {
      const found = (await api.get(`/api/incidents/${incident.id}`)).body;
      return found.state === "open" && ticketOf(found).externalId !== sysId && ticketOf(found).status === "delivered" ? found : null;
    }, "a new ticket");
    expect(snRow(sysId).state).toBe("7");
    expect(snRow(ticketOf(reopened).externalId)).toMatchObject({ state: "1", correlation_id: expect.stringMatching(/-2$/) });
  });
});
