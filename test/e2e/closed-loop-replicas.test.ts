/**
 * The closed loop across two replicas sharing one PostgreSQL database, and across a restart during
 * an Azure outage: every ITSM event applies once, reconciliation resolves once, and the Azure
 * alert is closed exactly once, late rather than never.
 */
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_APP_ID_URI, LOCAL_SERVICENOW_SYNC_CLIENT_ID } from "../../receiver/local/local-identity.ts";
import { armClient } from "../../receiver/src/azure/arm.ts";
import { managedIdentityToken } from "../../receiver/src/azure/managed-identity.ts";
import { reconcileOnce } from "../../receiver/src/jobs/reconcile.ts";
import { createMetrics } from "../../receiver/src/metrics.ts";
import { startArmFake, type ArmFake } from "../fakes/arm-fake.ts";
import { startManagedIdentityFake, type ManagedIdentityFake } from "../fakes/managed-identity-fake.ts";
import { startServiceNowFake, type ServiceNowFake } from "../fakes/servicenow-fake.ts";
import { operatorClient } from "../support/api.ts";
import { eventually } from "../support/eventually.ts";
import { wrapContext } from "../support/fixtures.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";

const SUB = "11111111-2222-3333-4444-555555555555";
const postgres = STORE_KINDS.find((k) => k.name === "postgres")!;

describe("the closed loop with two replicas and a restart (PostgreSQL)", () => {
  let store: OpenStore;
  let serviceNow: ServiceNowFake;
  let arm: ArmFake;
  let identity: ManagedIdentityFake;
  let env: Record<string, string>;
  let a: TestStack;
  let b: TestStack;

  beforeAll(async () => {
    store = await postgres.open();
    [serviceNow, arm, identity] = await Promise.all([startServiceNowFake(), startArmFake(), startManagedIdentityFake()]);
    env = {
      OUTBOX_POLL_MS: "20",
      OUTBOX_RETRY_BASE_SECONDS: "0",
      OUTBOX_RETRY_MAX_SECONDS: "1",
      SERVICENOW_URL: serviceNow.url,
      SERVICENOW_USERNAME: serviceNow.username,
      SERVICENOW_PASSWORD: serviceNow.password,
      SERVICENOW_SYNC_CLIENTS: LOCAL_SERVICENOW_SYNC_CLIENT_ID,
      AZURE_ALERT_SYNC: "on",
      AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
      IDENTITY_ENDPOINT: identity.identityEndpoint,
      IDENTITY_HEADER: identity.identityHeader,
    };
    [a, b] = await Promise.all([startTestStack({ db: store.db, env }), startTestStack({ db: store.db, env })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([serviceNow?.close(), arm?.close(), identity?.close()]);
    await store?.close();
  });

  async function firing(stack: TestStack) {
    const alertId = `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/${randomUUID()}`;
    arm.addAlert(alertId);
    expect((await stack.postAlert(wrapContext("metric-static.json", { alertId }))).status).toBe(202);
    const api = operatorClient(stack.issuer, stack.receiver.url);
    const incident = await eventually(async () => {
      const found = await api.incidentFor(alertId);
      return found?.deliveries.some((d: any) => d.status === "delivered") ? found : null;
    }, "the ticket");
    return { alertId, incident, sysId: incident.deliveries[0].externalId as string, api };
  }

  async function send(stack: TestStack, body: unknown) {
    const token = await stack.issuer.mint({ callerId: LOCAL_SERVICENOW_SYNC_CLIENT_ID, audience: LOCAL_APP_ID_URI });
    const response = await fetch(`${stack.receiver.url}/api/connectors/default/events`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    return (await response.json()) as { outcome: string };
  }

  it("the same event delivered to both replicas at once applies once, and closes the Azure alert once", async () => {
    const { alertId, incident, sysId, api } = await firing(a);
    await serviceNow.personChanges(sysId, { user: "jane.doe", state: "7", closeCode: "Solution provided", closeNotes: "done" });
    const event = { eventId: `evt-${randomUUID()}`, ticket: sysId, state: "closed", by: "jane.doe", at: new Date().toISOString() };
    const outcomes = (await Promise.all([send(a, event), send(b, event), send(a, event)])).map((o) => o.outcome).sort();
    expect(outcomes).toEqual(["duplicate", "duplicate", "resolved"]);
    await eventually(() => arm.alert(alertId)?.alertState === "Closed", "the Azure alert to be Closed");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(arm.alert(alertId)?.changes).toHaveLength(1);
    expect((await api.get(`/api/incidents/${incident.id}`)).body.timeline.filter((e: any) => e.type === "resolved")).toHaveLength(1);
  });

  it("reconciliation run by both replicas at once resolves the incident once and its ticket once", async () => {
    const { alertId, incident, sysId, api } = await firing(b);
    arm.resolveAlert(alertId);
    const client = armClient({ endpoint: arm.url, token: managedIdentityToken({ resource: arm.url, purpose: "ARM", code: "ARM", env: { IDENTITY_ENDPOINT: identity.identityEndpoint, IDENTITY_HEADER: identity.identityHeader } }) });
    const run = () => reconcileOnce({ db: store.db, arm: client, targets: { connectors: ["default"], maxAgeMs: 600_000, alertSync: true }, metrics: createMetrics(), log: pino({ level: "silent" }), intervalMs: 60_000, now: () => new Date(Date.now() + 3_600_000) });
    const reports = await Promise.all([run(), run()]);
    expect(reports.map((r) => r.resolved).reduce((x, y) => x + y)).toBeGreaterThanOrEqual(1);
    const detail = (await api.get(`/api/incidents/${incident.id}`)).body;
    expect(detail).toMatchObject({ state: "resolved", resolution: "reconciliation" });
    expect(detail.timeline.filter((e: any) => e.type === "resolved")).toHaveLength(1);
    await eventually(() => serviceNow.incidents().find((r) => r.sys_id === sysId)?.state === "6", "the ticket to be resolved");
    expect(serviceNow.requests.filter((r) => r.method === "PATCH" && r.url.includes(sysId))).toHaveLength(1);
  });

  it("an Azure outage queues the write-back; it survives a restart and closes the alert once Azure is back", async () => {
    const { alertId, incident, api } = await firing(a);
    arm.failNext(1_000_000, 503);
    expect((await api.post(`/api/incidents/${incident.id}/resolve`, { note: "during the outage" })).status).toBe(200);
    await eventually(async () => (await api.get(`/api/deliveries?incidentId=${incident.id}`)).body.items.some((d: any) => d.connector === "@azure-monitor" && d.attempts > 0 && d.lastError?.includes("503")), "a failed attempt");
    await Promise.all([a.close(), b.close()]);
    arm.failNext(0, 503);
    expect(arm.alert(alertId)?.alertState).toBe("New");
    [a, b] = await Promise.all([startTestStack({ db: store.db, env }), startTestStack({ db: store.db, env })]);
    await eventually(() => arm.alert(alertId)?.alertState === "Closed", "the Azure alert to be Closed after the restart");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(arm.alert(alertId)?.changes).toHaveLength(1);
  });
});
