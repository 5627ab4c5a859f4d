/**
 * The heartbeat end to end (docs/operations.md#heartbeat), on both stores: the receiver asks the
 * ARM stand-in for a test notification through the action group (the request checked against the
 * published Action Groups specification), the stand-in posts Azure's documented test payload with a
 * token from the local issuer to our public URL (an ingress in front of the receivers), and:
 * a heartbeat that arrives opens nothing; heartbeats that stop arriving open exactly one incident
 * "secure-export heartbeat missing" in the ServiceNow stand-in, resolved when they come back.
 * With two replicas on one store, only the lease holder sends, and the other may receive.
 */
import { readFileSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_APP_ID_URI, LOCAL_TENANT_ID } from "../../receiver/local/local-identity.ts";
import { startLocalIssuer, type LocalIssuer } from "../../receiver/local/local-issuer.ts";
import { HEARTBEAT_RECEIVER_NAME } from "../../receiver/src/azure/action-groups.ts";
import type { ReceiverConfig } from "../../receiver/src/config.ts";
import { startReceiver, type RunningReceiver } from "../../receiver/src/receiver.ts";
import { heartbeatStatus } from "../../receiver/src/store/heartbeats.ts";
import { startArmFake, type ArmFake } from "../fakes/arm-fake.ts";
import { startManagedIdentityFake, type ManagedIdentityFake } from "../fakes/managed-identity-fake.ts";
import { startServiceNowFake, type ServiceNowFake } from "../fakes/servicenow-fake.ts";
import { operatorClient } from "../support/api.ts";
import { eventually } from "../support/eventually.ts";
import { testConfig } from "../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";

const SUB = "11111111-2222-3333-4444-555555555555";
const ACTION_GROUP = `/subscriptions/${SUB}/resourceGroups/rg-secure-export/providers/Microsoft.Insights/actionGroups/secure-export`;
const APP_OBJECT_ID = "0bec7a11-5e1e-4c7e-8000-00000000a99e";
/** Short enough for a test; the decisions only ever count intervals. */
const INTERVAL_MS = 500;
const FAST_OUTBOX = { OUTBOX_POLL_MS: "20", OUTBOX_RETRY_BASE_SECONDS: "0", OUTBOX_RETRY_MAX_SECONDS: "1", OUTBOX_MAX_AGE_SECONDS: "600" };
const MISSING = "secure-export heartbeat missing";
const TEST_PAYLOAD = readFileSync(new URL("../fixtures/azure-monitor/test-action/logalertsv2.json", import.meta.url), "utf8");

/** The ingress in front of the replicas: PUBLIC_URL is its address, known before any receiver listens. */
async function startIngress(): Promise<{ url: string; target: string; close(): Promise<void> }> {
  const ingress = { url: "", target: "", close: async () => undefined as void };
  const server: Server = createServer((req, res) => {
    const upstream = new URL(req.url ?? "/", ingress.target);
    const forwarded = httpRequest(upstream, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forwarded.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  ingress.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ingress.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return ingress;
}

describe.each(STORE_KINDS)("the heartbeat on $name", (kind) => {
  let store: OpenStore;
  let issuer: LocalIssuer;
  let arm: ArmFake;
  let identity: ManagedIdentityFake;
  let serviceNow: ServiceNowFake;
  let ingress: Awaited<ReturnType<typeof startIngress>>;
  const receivers: RunningReceiver[] = [];
  let api: ReturnType<typeof operatorClient>;

  async function startReplica(): Promise<RunningReceiver> {
    const config: ReceiverConfig = testConfig(issuer.url, {
      ...FAST_OUTBOX,
      // An allow-list that forgot the receiver itself: neither the heartbeat nor its alert may be refused.
      ROUTING_RULES: JSON.stringify({
        admission: { default: "reject", rules: [{ name: "platform", match: { subscriptions: ["3f0c9a52-6b1e-4d7a-9c2f-1e8b5d4a7c60"] }, action: "admit" }] },
        connectors: { snow: { kind: "servicenow", url: serviceNow.url, auth: { username: serviceNow.username, passwordEnv: "SNOW_PASSWORD" } } },
        routes: [{ name: "everything", to: ["snow"] }],
      }),
      SNOW_PASSWORD: serviceNow.password,
      AZURE_RESOURCE_MANAGER_ENDPOINT: arm.url,
      AZURE_CLIENT_ID: identity.clientId,
      IDENTITY_ENDPOINT: identity.identityEndpoint,
      IDENTITY_HEADER: identity.identityHeader,
      HEARTBEAT_INTERVAL: "1m",
      HEARTBEAT_ACTION_GROUP_ID: ACTION_GROUP,
      PUBLIC_URL: ingress.url,
      ENTRA_APP_OBJECT_ID: APP_OBJECT_ID,
    });
    config.heartbeat = { ...config.heartbeat!, intervalMs: INTERVAL_MS };
    const receiver = await startReceiver(config, { db: store.db, shutdownGraceMs: 500, heartbeatFirstAfterMs: 0 });
    receivers.push(receiver);
    return receiver;
  }

  beforeAll(async () => {
    store = await kind.open();
    issuer = await startLocalIssuer();
    [arm, identity, serviceNow, ingress] = await Promise.all([
      startArmFake({ webhookToken: ({ audience, tenantId }) => issuer.mint({ audience, tenantId }) }),
      startManagedIdentityFake(),
      startServiceNowFake(),
      startIngress(),
    ]);
    arm.ownApplication(APP_OBJECT_ID);
    const first = await startReplica();
    ingress.target = first.url;
    api = operatorClient(issuer, first.url);
  });
  afterAll(async () => {
    for (const receiver of receivers) await receiver.close();
    await Promise.all([arm?.close(), identity?.close(), serviceNow?.close(), ingress?.close(), issuer?.close()]);
    await store?.close();
  });

  const received = () => heartbeatStatus(store.db).then((s) => s.lastReceivedAt);
  const missingTickets = () => serviceNow.incidents().filter((row) => String(row.short_description).includes(MISSING));

  it("asks Azure for a test notification as the spec and Azure require, receives it, records Azure's verdict, and opens nothing", async () => {
    await eventually(async () => (await heartbeatStatus(store.db)).azure?.state === "Completed", "Azure's verdict on a heartbeat");
    const [asked] = arm.testNotifications;
    expect(asked!.request).toEqual({
      alertType: "logalertv2",
      webhookReceivers: [
        {
          name: HEARTBEAT_RECEIVER_NAME,
          serviceUri: expect.stringMatching(new RegExp(`^${ingress.url}/api/alerts\\?heartbeat=[A-Za-z0-9_-]{43}$`)),
          useCommonAlertSchema: true,
          useAadAuth: true,
          objectId: APP_OBJECT_ID,
          identifierUri: LOCAL_APP_ID_URI,
          tenantId: LOCAL_TENANT_ID,
        },
      ],
    });
    expect(asked!.actions[0]!.status).toBe(202);
    // Every ARM call was an operation of the spec, answered as such (a 400 would mean the body broke it).
    expect(arm.requests.filter((r) => r.path.includes("/actionGroups/")).every((r) => r.status === 202 || r.status === 200)).toBe(true);

    const status = await heartbeatStatus(store.db);
    expect(status).toMatchObject({ lastSendError: null, missingSince: null, azure: { state: "Completed", detail: { MechanismType: "SecureWebhook", Name: HEARTBEAT_RECEIVER_NAME, Status: "Completed" } } });
    expect(status.lastReceivedAt).not.toBeNull();
    expect(serviceNow.incidents()).toEqual([]);
    expect((await api.get("/api/incidents")).body.items).toEqual([]);

    const metrics = await (await fetch(`${receivers[0]!.metricsUrl}/metrics`)).text();
    expect(Number(/^secure_export_heartbeat_last_received_timestamp_seconds (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(metrics).toMatch(/^secure_export_heartbeat_missing 0$/m);
    expect(metrics).toMatch(/^secure_export_heartbeats_total\{outcome="received"\} [1-9]/m);
    // The status page, the console and the CLI read the same record.
    expect((await api.get("/api/status")).body.heartbeat).toMatchObject({ enabled: true, verdict: "Completed", lastSendError: null, missingSince: null, healthy: true });
  });

  it("a nonce replayed, or one never sent, is answered 202 and counts for nothing; without a token it is 401", async () => {
    const delivered = await eventually(() => arm.testNotifications.find((n) => n.actions[0]!.status === 202), "a heartbeat delivered");
    const used = new URL(delivered.actions[0]!.serviceUri);
    const post = async (url: string, token: string | null) =>
      fetch(url.replace(ingress.url, receivers[0]!.url), {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: TEST_PAYLOAD,
      });
    const replay = await post(used.toString(), await issuer.mint());
    expect(replay.status).toBe(202);
    expect(await replay.json()).toEqual({ status: "heartbeat", arrival: "used" });
    const unknown = await post(`${ingress.url}/api/alerts?heartbeat=${"A".repeat(43)}`, await issuer.mint());
    expect(await unknown.json()).toEqual({ status: "heartbeat", arrival: "unknown" });
    const malformed = await post(`${ingress.url}/api/alerts?heartbeat=not-a-nonce`, await issuer.mint());
    expect(await malformed.json()).toEqual({ status: "heartbeat", arrival: "unknown" });
    expect((await post(used.toString(), null)).status).toBe(401);
    expect(serviceNow.incidents()).toEqual([]);
    expect((await api.get("/api/incidents")).body.items).toEqual([]);
  });

  it("heartbeats that stop arriving open exactly one incident in ServiceNow; the next that arrives resolves it", async () => {
    arm.deliverTestNotifications(false);
    const ticket = await eventually(() => missingTickets()[0], "the heartbeat-missing ticket", 15_000);
    expect(ticket.short_description).toContain(MISSING);
    expect((await heartbeatStatus(store.db)).missingSince).not.toBeNull();
    // Azure's verdict on the undelivered ones says so.
    await eventually(async () => (await heartbeatStatus(store.db)).azure?.state === "Failed", "Azure's Failed verdict");
    // Several more intervals without a heartbeat: still the one ticket.
    await new Promise((resolve) => setTimeout(resolve, 4 * INTERVAL_MS));
    expect(missingTickets()).toHaveLength(1);
    const metrics = await (await fetch(`${receivers[0]!.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^secure_export_heartbeat_missing 1$/m);
    const status = (await api.get("/api/status")).body;
    expect(status).toMatchObject({ healthy: false, heartbeat: { enabled: true, healthy: false, missingSince: expect.any(String) } });
    expect(status.problems).toContain("heartbeat: missing");

    arm.deliverTestNotifications(true);
    const resolved = await eventually(() => missingTickets().find((row) => row.state === "6"), "the heartbeat-missing ticket resolved", 15_000);
    expect(resolved.sys_id).toBe(ticket.sys_id);
    expect(missingTickets()).toHaveLength(1);
    expect((await heartbeatStatus(store.db)).missingSince).toBeNull();
    const incident = await api.incidentFor("secure-export/heartbeat-missing");
    expect(incident).toMatchObject({ state: "resolved", resolution: "alert" });
  });

  it.runIf(kind.name === "postgres")("with two replicas only the lease holder sends, and the other replica's receipt counts", async () => {
    const second = await startReplica();
    // Azure now reaches only the second replica; the first keeps its lease.
    ingress.target = second.url;
    const before = arm.testNotifications.length;
    const receivedBefore = await received();
    const started = Date.now();
    await eventually(async () => (await received()) !== receivedBefore && arm.testNotifications.length >= before + 3, "heartbeats received through the second replica", 15_000);
    const elapsed = Date.now() - started;
    // One per interval (plus the one in flight), not one per replica per interval.
    expect(arm.testNotifications.length - before).toBeLessThanOrEqual(Math.ceil(elapsed / INTERVAL_MS) + 1);
    // Every one Azure finished delivering went through the second replica and was taken (the last may still be in flight).
    expect(new Set(arm.testNotifications.slice(before).filter((n) => n.completedTime !== null).map((n) => n.actions[0]!.status))).toEqual(new Set([202]));
    expect(missingTickets()).toHaveLength(1);
  });
});
