/**
 * ServiceNow and BMC Helix through the outbox, end to end: real HTTP, real tokens from the local
 * issuer, fakes that enforce the tools' contracts, on both stores.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startBmcHelixFake, type BmcHelixFake } from "../fakes/bmc-helix-fake.ts";
import { startServiceNowFake, type ServiceNowFake } from "../fakes/servicenow-fake.ts";
import { operatorClient } from "../support/api.ts";
import { eventually } from "../support/eventually.ts";
import { wrapContext } from "../support/fixtures.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";

const FAST_OUTBOX = { OUTBOX_POLL_MS: "20", OUTBOX_RETRY_BASE_SECONDS: "0", OUTBOX_RETRY_MAX_SECONDS: "1", OUTBOX_MAX_AGE_SECONDS: "600" };


describe.each(STORE_KINDS)("ITSM delivery on $name", (kind) => {
  let store: OpenStore;
  let serviceNow: ServiceNowFake;
  let helix: BmcHelixFake;
  let stack: TestStack;
  let api: ReturnType<typeof operatorClient>;

  beforeAll(async () => {
    store = await kind.open();
    serviceNow = await startServiceNowFake();
    helix = await startBmcHelixFake();
    stack = await startTestStack({
      db: store.db,
      env: {
        ...FAST_OUTBOX,
        SERVICENOW_URL: serviceNow.url,
        SERVICENOW_CLIENT_ID: serviceNow.clientId,
        SERVICENOW_CLIENT_SECRET: serviceNow.clientSecret,
        BMC_HELIX_URL: helix.url,
        BMC_HELIX_USERNAME: helix.username,
        BMC_HELIX_PASSWORD: helix.password,
        BMC_HELIX_FIRST_NAME: "Azure",
        BMC_HELIX_LAST_NAME: "Monitor",
      },
    });
    api = operatorClient(stack.issuer, stack.receiver.url);
  });
  afterAll(async () => {
    await stack?.close();
    await serviceNow?.close();
    await helix?.close();
    await store?.close();
  });
  afterEach(() => {
    for (const fake of [serviceNow, helix]) {
      fake.up();
      fake.fail(0);
      fake.dropNextResponses(0);
      fake.delay(0);
      fake.rateLimitNext(0, 0);
    }
  });

  const target = (name: string) => `/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/${name}-${kind.name}`;

  async function post(body: unknown): Promise<string> {
    const response = await stack.postAlert(body);
    expect(response.status).toBe(202);
    return ((await response.json()) as { incidentId: string }).incidentId;
  }

  async function delivered(incidentId: string, action: "open" | "resolve" | "reopen") {
    return eventually(async () => {
      const { body } = await api.get(`/api/incidents/${incidentId}`);
      const ok = body.deliveries.length === 2 && body.deliveries.every((d: any) => d.action === action && d.status === "delivered");
      return ok ? body : false;
    }, `${action} delivered to both tools for ${incidentId}`);
  }

  const snIncidentsFor = (alertId: string) => serviceNow.incidents().filter((i) => i.description?.includes(alertId));
  const helixIncidentsFor = (alertId: string) => helix.incidents().filter((i) => i.Detailed_Decription?.includes(alertId));

  it("fired opens one incident in each tool with the CI bound; resolved resolves it in each", async () => {
    const resourceId = target("web");
    const ciSysId = serviceNow.addCi({ name: `web-${kind.name}`, object_id: resourceId.toLowerCase() });
    // A CI whose object_id only looks alike must not be picked.
    serviceNow.addCi({ name: "decoy", object_id: `${resourceId.toLowerCase()}-old` });
    const fired = wrapContext("metric-static.json", { alertTargetIDs: [resourceId], configurationItems: [`web-${kind.name}`], severity: "Sev1" });
    const incidentId = await post(fired);
    const opened = await delivered(incidentId, "open");
    const alertId = fired.data.essentials.alertId;

    const [sn] = snIncidentsFor(alertId);
    expect(snIncidentsFor(alertId)).toHaveLength(1);
    expect(sn).toMatchObject({ state: "1", cmdb_ci: ciSysId, urgency: "1", impact: "2", short_description: `[Sev1] rule-metric-static.json` });
    expect(sn!.correlation_id).toMatch(/^azmon-[0-9a-f]{40}$/);
    expect(opened.deliveries.find((d: any) => d.connector === "default")).toMatchObject({ externalId: sn!.sys_id, externalNumber: sn!.number });

    const [bmc] = helixIncidentsFor(alertId);
    expect(helixIncidentsFor(alertId)).toHaveLength(1);
    expect(bmc).toMatchObject({ HPD_CI: `web-${kind.name}`, Impact: "2-Significant/Large", Urgency: "2-High", Status: "New", "Vendor Ticket Number": sn!.correlation_id });
    expect(opened.deliveries.find((d: any) => d.connector === "default-bmc-helix")).toMatchObject({ externalId: bmc!["Incident Number"] });

    const resolved = structuredClone(fired);
    resolved.data.essentials.monitorCondition = "Resolved";
    resolved.data.essentials.resolvedDateTime = "2026-11-01T10:30:00.000Z";
    await post(resolved);
    await delivered(incidentId, "resolve");
    expect(serviceNow.incidents().find((i) => i.sys_id === sn!.sys_id)).toMatchObject({ state: "6", close_code: "Resolved by caller" });
    expect(serviceNow.incidents().find((i) => i.sys_id === sn!.sys_id)!.close_notes).toContain("Azure Monitor reported the alert resolved at 2026-11-01T10:30:00.000Z");
    expect(helixIncidentsFor(alertId)[0]).toMatchObject({ Status: "Resolved", Status_Reason: "Automated Resolution Reported" });
    expect(serviceNow.requests.some((r) => r.authScheme === "Bearer")).toBe(true);

    // Each ITSM step is in the incident's timeline, with the ticket's number.
    const { body } = await api.get(`/api/incidents/${incidentId}`);
    const steps = body.timeline.filter((e: any) => e.type.startsWith("ticket_"));
    expect(steps.map((e: any) => [e.type, e.detail.connector, e.detail.ticket]).sort()).toEqual(
      [
        ["ticket_created", "default", sn!.number],
        ["ticket_created", "default-bmc-helix", bmc!["Incident Number"]],
        ["ticket_resolved", "default", sn!.number],
        ["ticket_resolved", "default-bmc-helix", bmc!["Incident Number"]],
      ].sort(),
    );
    expect(steps.map((e: any) => e.summary)).toContain(`ticket ${sn!.number} created in default`);
    expect(body.timeline.findIndex((e: any) => e.type === "ticket_created")).toBeGreaterThan(body.timeline.findIndex((e: any) => e.type === "opened"));
  });

  it("delivers an alert with long texts and hundreds of resources within every field's limit", async () => {
    const targets = Array.from({ length: 300 }, (_, i) => target(`big-${i}`));
    // The CMDB knows only the 46th resource: found with a few batched lookups, not one per resource.
    const ciSysId = serviceNow.addCi({ name: `big-45-${kind.name}`, object_id: targets[45]!.toLowerCase() });
    const cmdbLookups = () => serviceNow.requests.filter((r) => r.url.startsWith("/api/now/table/cmdb_ci")).length;
    const lookupsBefore = cmdbLookups();
    const fired = wrapContext("metric-static.json", { alertRule: `rule-${"r".repeat(300)}`, description: "d".repeat(10_000), alertTargetIDs: targets, configurationItems: [] });
    const incidentId = await post(fired);
    await delivered(incidentId, "open");
    const alertId = fired.data.essentials.alertId;
    const [sn] = snIncidentsFor(alertId);
    expect(sn!.cmdb_ci).toBe(ciSysId);
    expect(cmdbLookups() - lookupsBefore).toBeLessThanOrEqual(3);
    expect(sn!.short_description).toHaveLength(160);
    expect(sn!.short_description!.endsWith("…")).toBe(true);
    expect(sn!.description!.length).toBeLessThanOrEqual(4000);
    expect(sn!.description).toContain("and 280 more");
    const [bmc] = helixIncidentsFor(alertId);
    expect(bmc!.Description).toHaveLength(100);
    expect(bmc!.Detailed_Decription!.length).toBeLessThanOrEqual(4000);
  });

  it("keeps retrying while a tool is down and delivers once after it recovers, without duplicates", async () => {
    serviceNow.down("reset");
    helix.down("503");
    const fired = wrapContext("log-alerts-v2.json");
    const incidentId = await post(fired);
    await eventually(async () => {
      const { body } = await api.get(`/api/incidents/${incidentId}`);
      return body.deliveries.every((d: any) => d.status === "pending" && d.attempts >= 3 && d.lastError);
    }, "several failed attempts");
    serviceNow.up();
    helix.up();
    const done = await delivered(incidentId, "open");
    expect(snIncidentsFor(fired.data.essentials.alertId)).toHaveLength(1);
    expect(helixIncidentsFor(fired.data.essentials.alertId)).toHaveLength(1);
    // The failed attempts are in the timeline once per cause, not once per retry, then the ticket.
    const failures = done.timeline.filter((e: any) => e.type === "delivery_failed");
    expect(failures.map((e: any) => e.detail.connector).sort()).toEqual(["default", "default-bmc-helix"]);
    expect(failures.find((e: any) => e.detail.connector === "default-bmc-helix").summary).toMatch(/^open to default-bmc-helix failed, retrying at .*: BMC Helix .*answered 503: 503 Service Unavailable$/);
    expect(done.timeline.filter((e: any) => e.type === "ticket_created")).toHaveLength(2);
  });

  it("creates one incident when the tool created it but the response was lost", async () => {
    serviceNow.dropNextResponses(1, { method: "POST", pathPrefix: "/api/now/table/incident" });
    helix.dropNextResponses(1, { method: "POST", pathPrefix: "/api/arsys/v1/entry/HPD:IncidentInterface_Create" });
    const fired = wrapContext("activitylog-policy.json");
    const incidentId = await post(fired);
    const done = await delivered(incidentId, "open");
    expect(serviceNow.droppedResponses()).toBeGreaterThanOrEqual(1);
    expect(helix.droppedResponses()).toBeGreaterThanOrEqual(1);
    const alertId = fired.data.essentials.alertId;
    expect(serviceNow.incidents().filter((i) => i.description?.includes(alertId))).toHaveLength(1);
    expect(helixIncidentsFor(alertId)).toHaveLength(1);
    expect(done.deliveries.every((d: any) => d.attempts >= 2)).toBe(true);
  });

  it("honours 429 Retry-After", async () => {
    serviceNow.rateLimitNext(1, 1);
    const started = Date.now();
    const incidentId = await post(wrapContext("prometheus.json"));
    await delivered(incidentId, "open");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it("renews expired tokens: logs in to Helix again and takes a new ServiceNow OAuth token", async () => {
    const first = await post(wrapContext("metric-dynamic.json"));
    await delivered(first, "open");
    serviceNow.expireTokens();
    helix.expireTokens();
    const second = await post(wrapContext("metric-webtest.json"));
    await delivered(second, "open");
  });

  it("dead-letters a permanently failing delivery, shows it, and replays it after the fault is fixed", async () => {
    serviceNow.fail(1000, 400);
    const fired = wrapContext("resourcehealth.json");
    const incidentId = await post(fired);
    const dead = await eventually(async () => {
      const { body } = await api.get(`/api/deliveries?status=dead&incidentId=${incidentId}`);
      return body.items[0];
    }, "a dead-lettered delivery");
    expect(dead).toMatchObject({ connector: "default", action: "open", status: "dead", lastError: expect.stringContaining("answered 400") });
    const timeline = (await api.get(`/api/incidents/${incidentId}`)).body.timeline;
    expect(timeline.filter((e: any) => e.type === "delivery_dead")).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ connector: "default", action: "open", attempts: 1, error: dead.lastError }), summary: `open to default gave up (dead letter, can be replayed): ${dead.lastError}` }),
    ]);
    const metrics = await (await fetch(`${stack.receiver.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/secure_export_outbox_jobs\{connector="default",status="dead"\} [1-9]/);

    const reader = operatorClient(stack.issuer, stack.receiver.url, ["Incidents.Read"]);
    expect((await reader.post(`/api/deliveries/${dead.id}/retry`)).status).toBe(403);
    serviceNow.fail(0);
    const replay = await api.post(`/api/deliveries/${dead.id}/retry`);
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ status: "pending" });
    await delivered(incidentId, "open");
    expect((await api.post(`/api/deliveries/${dead.id}/retry`)).status).toBe(409);
    expect(snIncidentsFor(fired.data.essentials.alertId)).toHaveLength(1);
  });

  it("delivers an operator's resolution of an alert Azure never resolves", async () => {
    const incidentId = await post(wrapContext("activitylog-security.json"));
    await delivered(incidentId, "open");
    expect((await api.post(`/api/incidents/${incidentId}/resolve`, { note: "handled" })).status).toBe(200);
    const done = await delivered(incidentId, "resolve");
    const sysId = done.deliveries.find((d: any) => d.connector === "default").externalId;
    expect(serviceNow.incidents().find((i) => i.sys_id === sysId)!.close_notes).toContain("resolved by an operator (handled)");
  });
});

describe("ServiceNow Event Management mode", () => {
  let store: OpenStore;
  let serviceNow: ServiceNowFake;
  let stack: TestStack;
  beforeAll(async () => {
    store = await STORE_KINDS[0]!.open();
    serviceNow = await startServiceNowFake();
    stack = await startTestStack({
      db: store.db,
      env: { ...FAST_OUTBOX, SERVICENOW_URL: serviceNow.url, SERVICENOW_MODE: "event", SERVICENOW_USERNAME: serviceNow.username, SERVICENOW_PASSWORD: serviceNow.password },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await serviceNow?.close();
    await store?.close();
  });

  it("sends one event per change keyed by message_key, severity mapped, and 0 to close", async () => {
    const fired = wrapContext("metric-static.json", { severity: "Sev0" });
    await stack.postAlert(fired);
    const resolved = structuredClone(fired);
    resolved.data.essentials.monitorCondition = "Resolved";
    resolved.data.essentials.resolvedDateTime = "2026-11-01T10:30:00.000Z";
    await stack.postAlert(resolved);
    const events = await eventually(async () => {
      const mine = serviceNow.events().filter((e) => JSON.parse(e.additional_info!).alertId === fired.data.essentials.alertId);
      return mine.length === 2 && mine;
    }, "two events");
    const [open, close] = events;
    const resourceId = fired.data.essentials.alertTargetIDs[0].toLowerCase();
    // The ARM id (111 characters) does not fit em_event.resource (100): its tail there, the whole id in additional_info.
    expect(open).toMatchObject({ source: "Azure Monitor", severity: "1", node: "vm1", resource: "…/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1" });
    expect(close).toMatchObject({ severity: "0", message_key: open!.message_key });
    expect(JSON.parse(open!.additional_info!)).toEqual({
      alertId: fired.data.essentials.alertId,
      alertLink: expect.stringContaining(encodeURIComponent(fired.data.essentials.alertId)),
      incidentId: expect.any(String),
      severity: "Sev0",
      resourceId,
      resourceIds: resourceId,
      ciNames: "vm1",
    });
    expect(serviceNow.requests.every((r) => r.authScheme === "Basic")).toBe(true);
  });

  it("keeps every field of an event within em_event's limits for long texts and hundreds of resources", async () => {
    const big = wrapContext("metric-static.json", {
      alertRule: `rule-${"r".repeat(300)}`,
      description: "d".repeat(10_000),
      alertTargetIDs: Array.from({ length: 300 }, (_, i) => `/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/vm-${"n".repeat(40)}-${i}`),
    });
    await stack.postAlert(big);
    const event = await eventually(async () => serviceNow.events().find((e) => JSON.parse(e.additional_info!).alertId === big.data.essentials.alertId), "the long alert's event");
    expect(event.type).toHaveLength(100);
    expect(event.resource!.length).toBeLessThanOrEqual(100);
    expect(event.description!.length).toBeLessThanOrEqual(4000);
    const info = JSON.parse(event.additional_info!);
    expect(info.resourceId).toBe(big.data.essentials.alertTargetIDs[0].toLowerCase());
    expect(info.resourceIds.split("\n")).toHaveLength(21);
  });
});
