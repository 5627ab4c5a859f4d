/**
 * The Azure alert write-back and Resource Graph reads against the ARM stand-in, which applies the
 * published specifications (test/fixtures/azure-rest-api-specs/): the request the receiver sends
 * is the one the spec declares, and the stand-in refuses the ones it does not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AZURE_ALERTS, AzureAlertTarget, alertStatesQuery, changeAlertState, readAlertStates } from "../../../receiver/src/azure/alerts.ts";
import { armClient, type ArmClient } from "../../../receiver/src/azure/arm.ts";
import { managedIdentityToken } from "../../../receiver/src/azure/managed-identity.ts";
import { correlationKey, DeliveryError, type DeliveryJob } from "../../../receiver/src/outbox/delivery.ts";
import { startArmFake, type ArmFake } from "../../fakes/arm-fake.ts";
import { startManagedIdentityFake, type ManagedIdentityFake } from "../../fakes/managed-identity-fake.ts";

const SUB = "0b1f6c2a-1111-4222-8333-444455556666";
const alertId = (n: number) => `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/${String(n).padStart(8, "0")}-aaaa-4bbb-8ccc-dddddddddddd`;

let arm: ArmFake;
let identity: ManagedIdentityFake;
let client: ArmClient;
beforeAll(async () => {
  [arm, identity] = await Promise.all([startArmFake(), startManagedIdentityFake()]);
  const token = managedIdentityToken({
    resource: arm.url,
    purpose: "Azure Resource Manager token",
    code: "ARM_TOKEN_UNAVAILABLE",
    clientId: identity.clientId,
    env: { IDENTITY_ENDPOINT: identity.identityEndpoint, IDENTITY_HEADER: identity.identityHeader },
  });
  client = armClient({ endpoint: arm.url, token });
});
afterAll(async () => {
  await Promise.all([arm.close(), identity.close()]);
});

/** A raw request with a token the stand-in accepts, for the requests the receiver must never send. */
async function raw(method: string, path: string, body?: unknown) {
  const response = await fetch(`${arm.url}${path}`, {
    method,
    headers: { authorization: `Bearer token-x-for-${arm.url}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
}

function job(action: DeliveryJob["action"], id: string, said: string): DeliveryJob {
  return {
    id: "1",
    incidentId: "i",
    connector: AZURE_ALERTS,
    action,
    attempts: 1,
    link: null,
    snapshot: { incidentId: "i", alertId: id, correlationKey: correlationKey(id), title: "t", description: null, severity: "Sev2", monitoringService: "Platform", signalType: "Metric", alertRule: null, firedAt: "2026-12-01T10:00:00.000Z", resolvedAt: null, resolution: "itsm", resources: [], unboundCis: [], resourceCount: 0, unboundCount: 0, note: null, fields: {}, said },
  };
}

describe("the ARM stand-in applies the published specification", () => {
  it("takes the documented change-state request: path, api-version, newState, {comments}", async () => {
    arm.addAlert(alertId(1));
    await changeAlertState(client, alertId(1), "Closed", "Closed by jane in ServiceNow (INC0010001)");
    expect(arm.alert(alertId(1))).toMatchObject({ alertState: "Closed", changes: [{ newState: "Closed", comments: "Closed by jane in ServiceNow (INC0010001)", apiVersion: "2019-03-01" }] });
    expect(arm.requests.at(-1)).toMatchObject({ method: "POST", path: `${alertId(1)}/changestate`, query: { "api-version": "2019-03-01", newState: "Closed" }, status: 200 });
  });

  it("refuses the spec example's singular `comment`, a wrong path, a missing or unknown newState, another api-version", async () => {
    arm.addAlert(alertId(2));
    const path = `${alertId(2)}/changestate`;
    expect(await raw("POST", `${path}?api-version=2019-03-01&newState=Closed`, { comment: "x" })).toMatchObject({ status: 400, body: { error: { code: "InvalidRequestContent", message: expect.stringContaining("body.comment is not a property") } } });
    expect(await raw("POST", `${path}?api-version=2019-03-01`, { comments: "x" })).toMatchObject({ status: 400, body: { error: { code: "MissingQueryParameter" } } });
    expect(await raw("POST", `${path}?api-version=2019-03-01&newState=Resolved`, { comments: "x" })).toMatchObject({ status: 400, body: { error: { code: "InvalidQueryParameterValue" } } });
    expect(await raw("POST", `${path}?api-version=2023-01-01&newState=Closed`, { comments: "x" })).toMatchObject({ status: 400, body: { error: { code: "InvalidApiVersionParameter" } } });
    expect(await raw("POST", `${alertId(2)}/changeState/close?api-version=2019-03-01&newState=Closed`)).toMatchObject({ status: 404, body: { error: { code: "InvalidResourceType" } } });
    expect(await raw("POST", `${path}?api-version=2019-03-01&newState=Closed&state=Closed`, { comments: "x" })).toMatchObject({ status: 400, body: { error: { code: "InvalidQueryParameter" } } });
    expect(arm.alert(alertId(2))?.alertState).toBe("New");
  });

  it("refuses a Resource Graph body the spec does not declare", async () => {
    expect(await raw("POST", "/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01", { subscriptions: [SUB], options: { $top: 1 } })).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("body.query is required") } } });
    expect(await raw("POST", "/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01", { query: alertStatesQuery([alertId(1)]), options: { $top: 5000 } })).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("at most 1000") } } });
    expect(await raw("POST", "/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01", { query: alertStatesQuery([alertId(1)]), top: 5 })).toMatchObject({ status: 400 });
  });

  it("refuses a token for another resource", async () => {
    const response = await fetch(`${arm.url}${alertId(1)}/changestate?api-version=2019-03-01&newState=Closed`, { method: "POST", headers: { authorization: "Bearer token-1-for-https://management.azure.com" } });
    expect(response.status).toBe(401);
  });
});

describe("the write-back as an outbox target", () => {
  const target = () => new AzureAlertTarget(client);

  it("closes the alert with who closed it where, and acknowledges it", async () => {
    arm.addAlert(alertId(3));
    await target().deliver(job("acknowledge", alertId(3), "Acknowledged by olivia in secure-export"));
    await target().deliver(job("resolve", alertId(3), "Closed by jane in ServiceNow (connector prod, ticket INC0010001)"));
    // Idempotent: a retry after a lost answer sets the state it already has.
    await target().deliver(job("resolve", alertId(3), "Closed by jane in ServiceNow (connector prod, ticket INC0010001)"));
    expect(arm.alert(alertId(3))?.changes.map((c) => [c.newState, c.comments])).toEqual([
      ["Acknowledged", "Acknowledged by olivia in secure-export"],
      ["Closed", "Closed by jane in ServiceNow (connector prod, ticket INC0010001)"],
      ["Closed", "Closed by jane in ServiceNow (connector prod, ticket INC0010001)"],
    ]);
  });

  it("retries a 429 no sooner than Retry-After, retries a 403 with ARM's words, and gives up on what is no Azure alert", async () => {
    arm.addAlert(alertId(4));
    arm.failNext(1, 429, 42);
    const throttled = await target().deliver(job("resolve", alertId(4), "x")).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(DeliveryError);
    expect(throttled).toMatchObject({ retryable: true, retryAfterMs: 42_000 });
    arm.forbid(SUB);
    const denied = await target().deliver(job("resolve", alertId(4), "x")).catch((e: unknown) => e);
    expect(denied).toMatchObject({ retryable: true, message: expect.stringContaining("403 AuthorizationFailed") });
    arm.allow(SUB);
    const foreign = await target().deliver(job("resolve", "not-an-alert-id", "x")).catch((e: unknown) => e);
    expect(foreign).toMatchObject({ retryable: false });
    expect(arm.alert(alertId(4))?.alertState).toBe("New");
  });

  it("checks the identity at start-up with a call that needs no role", async () => {
    expect(await target().check()).toMatchObject({ ok: true });
  });
});

describe("Azure's view through Resource Graph", () => {
  it("reads a batch of alerts in one query over their subscription, whatever case Resource Graph writes ids in", async () => {
    arm.addAlert(alertId(10));
    arm.addAlert(alertId(11));
    arm.resolveAlert(alertId(11));
    const before = arm.requests.length;
    const { views, quota } = await readAlertStates(client, [alertId(10), alertId(11), alertId(12)]);
    expect(arm.requests.length - before).toBe(1);
    expect(arm.requests.at(-1)?.body).toMatchObject({ subscriptions: [SUB] });
    expect(views.map((v) => [v.alertId, v.monitorCondition, v.alertState])).toEqual([
      [alertId(10).toLowerCase(), "Fired", "New"],
      [alertId(11).toLowerCase(), "Resolved", "New"],
    ]);
    expect(quota.remaining).toBeGreaterThanOrEqual(0);
  });

  it("is throttled after 15 queries in 5 seconds, with Retry-After", async () => {
    let error: unknown = null;
    for (let i = 0; i < 20 && !error; i++) error = await readAlertStates(client, [alertId(10)]).then(() => null, (e: unknown) => e);
    expect(error).toMatchObject({ status: 429, armCode: "RateLimiting", retryable: true });
  });
});
