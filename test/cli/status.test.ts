/**
 * `npx secure-export status` as a user runs it: a separate process against a receiver (PostgreSQL,
 * the ServiceNow fake), with a reader's token in SECURE_EXPORT_TOKEN; what it prints and its exit
 * code: 0 when healthy, 3 when something needs a person.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { LOCAL_OPERATOR_CLIENT_ID } from "../../receiver/local/local-identity.ts";
import { startServiceNowFake, type ServiceNowFake } from "../fakes/servicenow-fake.ts";
import { eventually } from "../support/eventually.ts";
import { wrapContext } from "../support/fixtures.ts";
import { run } from "../support/processes.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";

vi.setConfig({ testTimeout: 60_000 });

const FAST_OUTBOX = { OUTBOX_POLL_MS: "20", OUTBOX_RETRY_BASE_SECONDS: "0", OUTBOX_RETRY_MAX_SECONDS: "1", OUTBOX_MAX_AGE_SECONDS: "600" };

describe("secure-export status", () => {
  let store: OpenStore;
  let serviceNow: ServiceNowFake;
  let stack: TestStack | undefined;

  beforeAll(async () => {
    store = await STORE_KINDS.find((k) => k.name === "postgres")!.open();
    serviceNow = await startServiceNowFake();
  });
  // One receiver at a time: two sharing the store would both deliver for connector "default".
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });
  afterAll(async () => {
    await serviceNow?.close();
    await store?.close();
  });

  async function cli(args: string[]) {
    const token = await stack!.issuer.mint({ version: 2, audience: "5e1ec7ed-0000-4000-8000-0000000a9900", callerId: LOCAL_OPERATOR_CLIENT_ID, roles: ["Incidents.Read"] });
    return run(["receiver/cli/secure-export.ts", "status", ...args], { PATH: process.env.PATH, RECEIVER_URL: stack!.receiver.url, ISSUER_URL: stack!.issuer.url, SECURE_EXPORT_TOKEN: token });
  }

  it("healthy: a table of the connector and the credential, exit code 0", async () => {
    const expires = new Date(Date.now() + 100 * 86_400_000).toISOString();
    stack = await startTestStack({ db: store.db, env: { ...FAST_OUTBOX, SERVICENOW_URL: serviceNow.url, SERVICENOW_USERNAME: serviceNow.username, SERVICENOW_PASSWORD: serviceNow.password, SERVICENOW_CREDENTIAL_EXPIRES_AT: expires } });
    const result = await cli([]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^receiver +secure-export \d+\.\d+\.\d+, healthy/m);
    // A store handed in (as here) shows as the configuration names it: no DATABASE_URL reads as embedded.
    expect(result.stdout).toMatch(/^store +(postgresql|embedded), reachable$/m);
    expect(result.stdout).toMatch(/^heartbeat +off$/m);
    expect(result.stdout).toMatch(/^CONNECTOR +KIND +STATE +LAST SUCCESS/m);
    expect(result.stdout).toMatch(/^default +servicenow +idle /m);
    expect(result.stdout).toMatch(/^default +password +\S+ \S+ +99 +ok$/m);
    expect(result.stdout).not.toContain("Problems:");

    const asJson = await cli(["--json"]);
    expect(asJson.code).toBe(0);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ healthy: true, connectors: [{ name: "default", state: "idle" }], credentials: { items: [{ daysLeft: 99, state: "ok" }] } });
  });

  it("a ServiceNow refusing the credentials: the problem named, exit code 3, in --json too", async () => {
    stack = await startTestStack({ db: store.db, env: { ...FAST_OUTBOX, SERVICENOW_URL: serviceNow.url, SERVICENOW_USERNAME: serviceNow.username, SERVICENOW_PASSWORD: "wrong" } });
    expect((await stack.postAlert(wrapContext("metric-static.json", { severity: "Sev2" }))).status).toBe(202);
    const result = await eventually(async () => {
      const r = await cli([]);
      return r.code === 3 && !r.stdout.includes("at start-up") ? r : false;
    }, "status exit code 3, from a delivery refused");
    expect(result.stdout).toMatch(/^receiver +secure-export \S+, UNHEALTHY/m);
    expect(result.stdout).toMatch(/^default +servicenow +unauthorized /m);
    expect(result.stdout).toContain("Problems:\n  - connector default: unauthorized (401): User Not Authenticated: Required to provide Auth information, check the credentials");
    expect(result.stderr).toBe("secure-export: unhealthy: 1 problem\n");
    const asJson = await cli(["--json"]);
    expect(asJson.code).toBe(3);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ healthy: false, connectors: [{ state: "unauthorized" }] });
  });

  it("takes no arguments", async () => {
    stack = await startTestStack({ db: store.db });
    const result = await cli(["now"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unexpected argument "now"');
  });
});
