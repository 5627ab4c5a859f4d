/**
 * What an operator learns about each ITSM connector before the first alert (docs/connectors.md#itsm-connectors-servicenow-and-bmc-helix):
 * check() makes one authenticated call to the fakes, which refuse bad credentials as the tools do
 * (ServiceNow 401 "User Not Authenticated", OAuth 401 access_denied; Helix login 401 with AR error 623),
 * and a delivery that cannot reach a tool says why (ECONNREFUSED…), not just "fetch failed".
 */
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectorsFromEnv } from "../../receiver/src/connectors/kinds.ts";
import { createConnector } from "../../receiver/src/connectors/kinds.ts";
import { correlationKey, DeliveryError, type Connector, type DeliveryJob } from "../../receiver/src/outbox/delivery.ts";
import { startBmcHelixFake, type BmcHelixFake } from "../fakes/bmc-helix-fake.ts";
import { startServiceNowFake, type ServiceNowFake } from "../fakes/servicenow-fake.ts";

let serviceNow: ServiceNowFake;
let helix: BmcHelixFake;
let closedUrl: string;

beforeAll(async () => {
  serviceNow = await startServiceNowFake();
  helix = await startBmcHelixFake();
  // A port nothing listens on: the tool is down or the URL is wrong.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  closedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
afterAll(async () => {
  await serviceNow.close();
  await helix.close();
});
afterEach(() => {
  serviceNow.up();
  helix.up();
});

function connector(env: Record<string, string>): Connector {
  const [config] = connectorsFromEnv(env);
  return createConnector("default", config!);
}

const basic = (overrides: Record<string, string> = {}) => connector({ SERVICENOW_URL: serviceNow.url, SERVICENOW_USERNAME: serviceNow.username, SERVICENOW_PASSWORD: serviceNow.password, ...overrides });
const oauth = (overrides: Record<string, string> = {}) => connector({ SERVICENOW_URL: serviceNow.url, SERVICENOW_CLIENT_ID: serviceNow.clientId, SERVICENOW_CLIENT_SECRET: serviceNow.clientSecret, ...overrides });
const bmc = (overrides: Record<string, string> = {}) =>
  connector({ BMC_HELIX_URL: helix.url, BMC_HELIX_USERNAME: helix.username, BMC_HELIX_PASSWORD: helix.password, BMC_HELIX_FIRST_NAME: "Azure", BMC_HELIX_LAST_NAME: "Monitor", ...overrides });

describe("check()", () => {
  it.each([
    ["ServiceNow, basic auth, table mode", () => basic(), "accepted the basic auth credentials"],
    ["ServiceNow, basic auth, event mode", () => basic({ SERVICENOW_MODE: "event" }), "accepted the basic auth credentials"],
    ["ServiceNow, OAuth", () => oauth(), "accepted the OAuth client credentials"],
    ["BMC Helix", () => bmc(), `accepted the credentials of ${"integration"}`],
  ])("says %s is reachable and takes the credentials", async (_name, make, detail) => {
    const before = { sn: serviceNow.incidents().length + serviceNow.events().length, helix: helix.incidents().length };
    const verdict = await make().check();
    expect(verdict).toEqual({ ok: true, detail: expect.stringContaining(detail) });
    // A check delivers nothing.
    expect({ sn: serviceNow.incidents().length + serviceNow.events().length, helix: helix.incidents().length }).toEqual(before);
  });

  it.each([
    ["ServiceNow, basic auth", () => basic({ SERVICENOW_PASSWORD: "wrong" }), "refused the basic auth credentials (401)"],
    ["ServiceNow, OAuth", () => oauth({ SERVICENOW_CLIENT_SECRET: "wrong" }), "(OAuth token endpoint) is reachable but refused the OAuth client credentials (401)"],
    ["BMC Helix", () => bmc({ BMC_HELIX_PASSWORD: "wrong" }), "refused the credentials of integration (401)"],
  ])("says %s refused the credentials", async (_name, make, detail) => {
    expect(await make().check()).toEqual({ ok: false, detail: expect.stringContaining(detail), refused: { status: 401, said: expect.any(String) } });
  });

  it.each([
    ["ServiceNow", () => basic({ SERVICENOW_URL: closedUrl })],
    ["ServiceNow, OAuth", () => oauth({ SERVICENOW_URL: closedUrl })],
    ["BMC Helix", () => bmc({ BMC_HELIX_URL: closedUrl })],
  ])("says why %s cannot be reached", async (_name, make) => {
    const verdict = await make().check();
    expect(verdict.ok).toBe(false);
    expect(verdict.detail).toMatch(new RegExp(`^(ServiceNow|BMC Helix) at ${closedUrl}: (GET|POST) /\\S*: connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+$`));
  });

  it("says what a tool that is up but failing answered", async () => {
    serviceNow.down("503");
    helix.down("503");
    expect(await basic().check()).toEqual({ ok: false, detail: `ServiceNow at ${serviceNow.url} answered 503: Service Unavailable` });
    // BMC Helix's error array: its messageNumber and messageText, not the JSON.
    expect(await bmc().check()).toEqual({ ok: false, detail: expect.stringMatching(/^BMC Helix at .* answered 503: 503 Service Unavailable$/) });
  });

  it("reuses the Helix login it made for the first delivery", async () => {
    const helixConnector = bmc();
    await helixConnector.check();
    const logins = helix.requests.filter((r) => r.url === "/api/jwt/login").length;
    await helixConnector.deliver(job());
    expect(helix.requests.filter((r) => r.url === "/api/jwt/login").length).toBe(logins);
  });
});

function job(): DeliveryJob {
  const alertId = `/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/check-${Math.random()}`;
  return {
    id: "1",
    incidentId: "i",
    connector: "x",
    action: "open",
    attempts: 0,
    link: null,
    snapshot: {
      incidentId: "i", alertId, correlationKey: correlationKey(alertId), title: "t", description: null, severity: "Sev3", monitoringService: "Platform", signalType: "Metric",
      alertRule: "r", firedAt: "2026-11-01T10:00:00.000Z", resolvedAt: null, resolution: null, resources: [], unboundCis: [], resourceCount: 0, unboundCount: 0, fields: {}, note: null,
    },
  };
}

describe("a delivery that cannot reach the tool", () => {
  it.each([
    ["ServiceNow", () => basic({ SERVICENOW_URL: closedUrl })],
    ["BMC Helix", () => bmc({ BMC_HELIX_URL: closedUrl })],
  ])("names the cause for %s (ECONNREFUSED), and stays retryable", async (_name, make) => {
    const error = await make().deliver(job()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).message).toMatch(/: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect((error as DeliveryError).retryable).toBe(true);
  });
});
