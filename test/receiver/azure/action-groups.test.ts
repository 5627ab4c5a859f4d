/**
 * An action group's test notifications against the ARM stand-in, which applies the published
 * Action Groups specification (test/fixtures/azure-rest-api-specs/actiongroups-2023-01-01.json) and
 * Azure's own checks on a secure webhook: the heartbeat's request is one the spec and Azure accept,
 * and the stand-in refuses the ones they would not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNotifications, notificationRequest, notificationStatus } from "../../../receiver/src/azure/action-groups.ts";
import { ArmError, armClient, type ArmClient } from "../../../receiver/src/azure/arm.ts";
import { managedIdentityToken } from "../../../receiver/src/azure/managed-identity.ts";
import { startArmFake, type ArmFake } from "../../fakes/arm-fake.ts";
import { startManagedIdentityFake, type ManagedIdentityFake } from "../../fakes/managed-identity-fake.ts";

const SUB = "0b1f6c2a-1111-4222-8333-444455556666";
const GROUP = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Insights/actionGroups/secure-export`;
const APP = "0bec7a11-5e1e-4c7e-8000-00000000a99e";
const target = (serviceUri: string) => ({ serviceUri, objectId: APP, identifierUri: "api://secure-export", tenantId: "5e1ec7ed-0000-4000-8000-00000000c0de" });

let arm: ArmFake;
let identity: ManagedIdentityFake;
let client: ArmClient;
/** What the stand-in posted to, as the webhook would see it. */
const posted: Array<{ url: string; authorization: string | undefined; body: any }> = [];
let hook: { url: string; close(): Promise<void> };

beforeAll(async () => {
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      posted.push({ url: req.url ?? "", authorization: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
      res.writeHead(req.url?.includes("refuse") ? 401 : 202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  hook = { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
  [arm, identity] = await Promise.all([startArmFake({ webhookToken: async ({ audience, tenantId }) => `token-for-${audience}-in-${tenantId}` }), startManagedIdentityFake()]);
  arm.ownApplication(APP);
  const token = managedIdentityToken({ resource: arm.url, purpose: "Azure Resource Manager token", code: "ARM_TOKEN_UNAVAILABLE", clientId: identity.clientId, env: { IDENTITY_ENDPOINT: identity.identityEndpoint, IDENTITY_HEADER: identity.identityHeader } });
  client = armClient({ endpoint: arm.url, token });
});
afterAll(async () => {
  await Promise.all([arm?.close(), identity?.close(), hook?.close()]);
});

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe("createNotifications and notificationStatus", () => {
  it("202 with the notification id; Azure posts the documented test payload with a token for our App ID URI; the verdict says Completed", async () => {
    const sent = await createNotifications(client, GROUP, target(`${hook.url}/api/alerts?heartbeat=n1`));
    expect(sent.notificationId).toMatch(/^\d+$/);
    expect(sent.statusUrl).toContain(`${GROUP}/notificationStatus/${sent.notificationId}`);
    await until(() => posted.some((p) => p.url === "/api/alerts?heartbeat=n1"));
    const delivery = posted.find((p) => p.url === "/api/alerts?heartbeat=n1")!;
    expect(delivery.authorization).toBe("Bearer token-for-api://secure-export-in-5e1ec7ed-0000-4000-8000-00000000c0de");
    expect(delivery.body).toMatchObject({ schemaId: "azureMonitorCommonAlertSchema", data: { essentials: { monitoringService: "Log Alerts V2", alertRule: "test-logAlertRule-v2" } } });
    await until(() => arm.testNotifications.at(-1)!.completedTime !== null);
    expect(await notificationStatus(client, GROUP, sent.notificationId!)).toEqual({
      state: "Completed",
      detail: { MechanismType: "SecureWebhook", Name: "secure-export-heartbeat", Status: "Completed", SubState: "Default", SendTime: expect.any(String), Detail: null },
    });
  });

  it("a webhook that refuses the post makes the verdict Failed, with what it answered", async () => {
    const sent = await createNotifications(client, GROUP, target(`${hook.url}/refuse`));
    await until(() => arm.testNotifications.at(-1)!.completedTime !== null);
    const verdict = await notificationStatus(client, GROUP, sent.notificationId!);
    expect(verdict).toMatchObject({ state: "Failed", detail: { Status: "Failed", Detail: expect.stringContaining("answered 401") } });
  });

  it("the stand-in refuses what the spec or Azure refuses", async () => {
    const post = (body: unknown) => client.request({ method: "POST", path: `${GROUP}/createNotifications`, apiVersion: "2023-01-01", body }).then(() => null, (e: ArmError) => `${e.status} ${e.armCode} ${e.message}`);
    const good = notificationRequest(target(`${hook.url}/x`)) as { webhookReceivers: Array<Record<string, unknown>> };
    expect(await post({ webhookReceivers: good.webhookReceivers })).toMatch(/^400 InvalidRequestContent .*body\.alertType is required/);
    expect(await post({ ...good, alertType: "heartbeat" })).toMatch(/^400 InvalidRequestContent .*alertType 'heartbeat' is not supported/);
    expect(await post({ ...good, webhookReceivers: [{ ...good.webhookReceivers[0], aadAuth: true }] })).toMatch(/aadAuth is not a property/);
    expect(await post({ ...good, webhookReceivers: [{ ...good.webhookReceivers[0], useAadAuth: "true" }] })).toMatch(/useAadAuth must be a boolean/);
    const { identifierUri: _, ...withoutUri } = good.webhookReceivers[0]!;
    expect(await post({ ...good, webhookReceivers: [withoutUri] })).toMatch(/^400 InvalidRequestContent .*A secure webhook receiver needs identifierUri/);
    expect(await post({ ...good, webhookReceivers: [{ ...good.webhookReceivers[0], objectId: "11111111-1111-1111-1111-111111111111" }] })).toMatch(/^400 AadWebhookResourceNotOwnedByCaller /);
    expect(await client.request({ method: "POST", path: `${GROUP}/createNotifications`, apiVersion: "2022-06-01", body: good }).catch((e: ArmError) => e.armCode)).toBe("InvalidApiVersionParameter");
  });

  it("a missing role is a 403 the caller can report", async () => {
    arm.forbid(SUB);
    try {
      const error = await createNotifications(client, GROUP, target(`${hook.url}/x`)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArmError);
      expect(error).toMatchObject({ status: 403, armCode: "AuthorizationFailed", retryable: false });
    } finally {
      arm.allow(SUB);
    }
  });
});
