/**
 * Credential expiry and the connector's state end to end (docs/operations.md#credential-expiry):
 * the receiver, the local issuer and the ServiceNow fake over real HTTP, on PostgreSQL. A
 * credential inside its warning window opens one incident in ServiceNow through the outbox; a
 * restart with a later date resolves it. A ServiceNow that refuses the credentials (401) shows as
 * the connector's state in `GET /api/status`: from the start-up check, then from the deliveries.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServiceNowFake, type ServiceNowFake } from "../fakes/servicenow-fake.ts";
import { operatorClient } from "../support/api.ts";
import { eventually } from "../support/eventually.ts";
import { wrapContext } from "../support/fixtures.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";

const FAST_OUTBOX = { OUTBOX_POLL_MS: "20", OUTBOX_RETRY_BASE_SECONDS: "0", OUTBOX_RETRY_MAX_SECONDS: "1", OUTBOX_MAX_AGE_SECONDS: "600" };
const DAY_MS = 86_400_000;
const ALERT_ID = "secure-export/credential-expiry/default";

describe("credential expiry and connector state, end to end", () => {
  let store: OpenStore;
  let serviceNow: ServiceNowFake;
  const stacks: TestStack[] = [];

  beforeAll(async () => {
    store = await STORE_KINDS.find((k) => k.name === "postgres")!.open();
    serviceNow = await startServiceNowFake();
  });
  afterAll(async () => {
    for (const stack of stacks) await stack.close().catch(() => undefined);
    await serviceNow?.close();
    await store?.close();
  });

  async function start(env: Record<string, string>): Promise<TestStack> {
    const stack = await startTestStack({ db: store.db, env: { ...FAST_OUTBOX, SERVICENOW_URL: serviceNow.url, SERVICENOW_USERNAME: serviceNow.username, ...env } });
    stacks.push(stack);
    return stack;
  }

  it("a credential inside the window opens one ServiceNow incident; a restart with a later date resolves it", async () => {
    const soon = new Date(Date.now() + 5 * DAY_MS).toISOString();
    let stack = await start({ SERVICENOW_PASSWORD: serviceNow.password, SERVICENOW_CREDENTIAL_EXPIRES_AT: soon });
    let api = operatorClient(stack.issuer, stack.receiver.url);
    const ticket = await eventually(() => serviceNow.incidents().find((i) => i.description?.includes("password of connector default expires")), "the credential expiry incident in ServiceNow");
    expect(ticket.short_description).toBe("[Sev2] secure-export credential expiry");
    expect(ticket.description).toContain(`expiresAt: ${soon}`);
    const incident = await api.incidentFor(ALERT_ID);
    expect(incident).toMatchObject({ state: "open", monitoringService: "secure-export", severity: "Sev2" });

    const { body: status } = await api.get("/api/status");
    expect(status.credentials.items).toEqual([{ connector: "default", credential: "password", expiresAt: soon, daysLeft: 4, state: "warning" }]);
    expect(status.problems).toContain(`credential: the password of connector default expires in 4 days (${soon.slice(0, 10)})`);
    const metrics = await (await fetch(`${stack.receiver.metricsUrl}/metrics`)).text();
    expect(metrics).toContain('secure_export_credential_days_left{connector="default",credential="password"} 4');

    // A second look (another replica, the next hour) raises nothing more: still one ticket.
    await stack.close();
    stack = await start({ SERVICENOW_PASSWORD: serviceNow.password, SERVICENOW_CREDENTIAL_EXPIRES_AT: soon });
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(serviceNow.incidents().filter((i) => i.description?.includes("password of connector default"))).toHaveLength(1);
    await stack.close();

    // Renewed: the new date is beyond the window.
    const later = new Date(Date.now() + 90 * DAY_MS).toISOString();
    stack = await start({ SERVICENOW_PASSWORD: serviceNow.password, SERVICENOW_CREDENTIAL_EXPIRES_AT: later });
    api = operatorClient(stack.issuer, stack.receiver.url);
    await eventually(() => serviceNow.incidents().find((i) => i.sys_id === ticket.sys_id && i.state === "6"), "the ServiceNow incident resolved");
    expect((await api.incidentFor(ALERT_ID)).state).toBe("resolved");
    expect((await api.get("/api/status")).body.credentials.items[0]).toMatchObject({ state: "ok", daysLeft: 89 });
    await stack.close();
  }, 60_000);

  it("a ServiceNow that refuses the credentials (401) makes the connector unauthorized, saying what ServiceNow said", async () => {
    const stack = await start({ SERVICENOW_PASSWORD: "wrong-password" });
    const api = operatorClient(stack.issuer, stack.receiver.url);
    // Before any alert: the start-up check's refusal.
    const checked = await eventually(async () => {
      const { body } = await api.get("/api/status");
      return body.connectors[0].state === "unauthorized" ? body.connectors[0] : false;
    }, "the connector's state unauthorized at start-up");
    expect(checked).toMatchObject({ detail: "unauthorized (401) at start-up: User Not Authenticated: Required to provide Auth information, check the credentials", queueDepth: 0 });
    // Then the deliveries' own word.
    expect((await stack.postAlert(wrapContext("metric-static.json", { severity: "Sev2" }))).status).toBe(202);
    const connector = await eventually(async () => {
      const { body } = await api.get("/api/status");
      return body.connectors[0].lastFailure ? body.connectors[0] : false;
    }, "a delivery refused");
    expect(connector).toMatchObject({
      name: "default",
      kind: "servicenow",
      detail: "unauthorized (401): User Not Authenticated: Required to provide Auth information, check the credentials",
      unauthorized: "User Not Authenticated: Required to provide Auth information",
    });
    expect(connector.queueDepth).toBeGreaterThanOrEqual(1);
    const { body } = await api.get("/api/status");
    expect(body.healthy).toBe(false);
    await stack.close();
  }, 60_000);
});
