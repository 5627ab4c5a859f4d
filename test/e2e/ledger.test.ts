/**
 * The incident ledger end to end (issue: incidents, CMDB, read API): real HTTP, real tokens from
 * the local issuer, against both stores.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, fixtureNames, wrapContext } from "../support/fixtures.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";
import { operatorClient } from "../support/api.ts";

describe.each(STORE_KINDS)("incident ledger on $name", (kind) => {
  let store: OpenStore;
  let stack: TestStack;
  let api: ReturnType<typeof operatorClient>;

  beforeAll(async () => {
    store = await kind.open();
    stack = await startTestStack({ db: store.db });
    api = operatorClient(stack.issuer, stack.receiver.url);
  });
  afterAll(async () => {
    await stack?.close();
    await store?.close();
  });

  async function post(body: unknown) {
    const response = await stack.postAlert(body);
    expect(response.status).toBe(202);
    return response.json() as Promise<{ incidentId: string }>;
  }

  it("turns every sample payload into the right incident with its CIs", async () => {
    for (const name of fixtureNames()) await post(fixture(name));

    // Each sample is an incident of its own (the smart detector sample's alertId was changed from the
    // metric sample's, which Microsoft's documentation reuses; see the fixtures' README).
    const metric = await api.incidentFor(fixture("metric-static-fired.json").data.essentials.alertId);
    expect(metric).toMatchObject({ state: "open", severity: "Sev4", title: "test-metricAlertRule", monitoringService: "Platform", signalType: "Metric", firedAt: "2025-04-15T18:17:12.851Z", resolvedAt: null });
    expect(metric.timeline.map((e: any) => e.type)).toEqual(["opened"]);
    const smart = await api.incidentFor(fixture("smartdetector-fired.json").data.essentials.alertId);
    expect(smart).toMatchObject({ state: "open", monitoringService: "SmartDetector", firedAt: "2021-10-28T19:09:09.111Z" });
    expect(smart.id).not.toBe(metric.id);
    expect(metric.configurationItems).toHaveLength(1);
    expect(metric.configurationItems).toEqual(expect.arrayContaining([
      expect.objectContaining({
        resourceId: "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/test-rg/providers/microsoft.storage/storageaccounts/test-storageaccount",
        name: "test-storageAccount",
        bound: true,
        subscriptionId: "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        resourceGroup: "test-rg",
        providerType: "microsoft.storage/storageaccounts",
      }),
    ]));

    const resolved = await api.incidentFor(fixture("metric-static-resolved.json").data.essentials.alertId);
    expect(resolved).toMatchObject({ state: "resolved", resolution: "alert", resolvedAt: "2019-03-22T14:03:16.224Z" });
    expect(resolved.timeline.map((e: any) => e.type)).toEqual(["opened", "resolved"]);

    const log = await api.incidentFor(fixture("logalertsv2-fired.json").data.essentials.alertId);
    expect(log.state).toBe("open");
    expect(log.configurationItems.map((c: any) => [c.resourceId, c.bound])).toEqual([
      ["/subscriptions/12345a-1234b-123c-123d-12345678e/resourcegroups/ai-engineering/providers/microsoft.compute/virtualmachines/testvm", true],
      ["/subscriptions/12345a-1234b-123c-123d-12345678e/resourcegroups/test/providers/microsoft.compute/virtualmachines/testvm", true],
    ]);

    const budget = await api.incidentFor(fixture("budget-forecasted-fired.json").data.essentials.alertId);
    expect(budget).toMatchObject({ state: "open", severity: null, family: "budget" });
    expect(budget.configurationItems).toEqual([expect.objectContaining({ name: "budgets", bound: false, resourceId: null })]);

    const health = await api.incidentFor(fixture("servicehealth-incident-fired.json").data.essentials.alertId);
    expect(health.configurationItems).toEqual([expect.objectContaining({ resourceId: "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e", bound: true, providerType: null })]);

    for (const name of ["activitylog-administrative-fired.json"]) {
      const incident = await api.incidentFor(fixture(name).data.essentials.alertId);
      expect(incident.state).toBe("open");
      expect(incident.configurationItems.length).toBeGreaterThan(0);
      expect(incident.configurationItems.every((c: any) => c.bound)).toBe(true);
    }
  });

  it("Fired → Resolved → the Fired retried late leaves one resolved incident", async () => {
    const fired = wrapContext("metric-static.json");
    const resolved = structuredClone(fired);
    resolved.data.essentials.monitorCondition = "Resolved";
    resolved.data.essentials.resolvedDateTime = "2026-11-01T10:20:00.000Z";
    await post(fired);
    await post(resolved);
    await post(fired);
    const { body } = await api.get(`/api/incidents?alertId=${encodeURIComponent(fired.data.essentials.alertId)}`);
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({ state: "resolved", resolvedAt: "2026-11-01T10:20:00.000Z", firedAt: "2026-11-01T10:00:00.000Z" });
  });

  it("Resolved first, then Fired, leaves one resolved incident", async () => {
    const fired = wrapContext("prometheus.json");
    const resolved = structuredClone(fired);
    resolved.data.essentials.monitorCondition = "Resolved";
    resolved.data.essentials.resolvedDateTime = "2026-11-01T10:05:00.000Z";
    await post(resolved);
    await post(fired);
    const incident = await api.incidentFor(fired.data.essentials.alertId);
    expect(incident).toMatchObject({ state: "resolved", resolvedAt: "2026-11-01T10:05:00.000Z" });
    expect(incident.timeline.map((e: any) => e.type)).toEqual(["opened", "resolved", "superseded"]);
    expect(incident.timeline[0].notificationId).toMatch(/^\d+$/);
  });

  it("keeps names without a resource id as unbound CIs, matched names as bound", async () => {
    const target = `/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/VM-${kind.name}`;
    const alert = wrapContext("metric-static.json", { alertTargetIDs: [target], configurationItems: [`vm-${kind.name}`, "legacy-box"] });
    const { incidentId } = await post(alert);
    const { body } = await api.get(`/api/incidents/${incidentId}`);
    expect(body.configurationItems.map((c: any) => ({ name: c.name, bound: c.bound }))).toEqual([
      { name: `vm-${kind.name}`, bound: true },
      { name: "legacy-box", bound: false },
    ]);
    const ci = await api.get(`/api/cis/${encodeURIComponent(alert.data.essentials.alertTargetIDs[0])}`);
    expect(ci.status).toBe(200);
    expect(ci.body.incidents.map((i: any) => i.id)).toContain(incidentId);
    expect(ci.body.openIncidents).toBeGreaterThan(0);
    const unbound = await api.get("/api/cis?bound=false&limit=200");
    expect(unbound.body.items.map((c: any) => c.name)).toContain("legacy-box");
  });

  it("lets an operator resolve an incident Azure never will, and records who", async () => {
    const { incidentId } = await post(wrapContext("activitylog-security.json"));
    const reader = operatorClient(stack.issuer, stack.receiver.url, ["Incidents.Read"]);
    expect((await reader.post(`/api/incidents/${incidentId}/resolve`)).status).toBe(403);

    const resolved = await api.post(`/api/incidents/${incidentId}/resolve`, { note: "false positive" });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ state: "resolved", resolution: "operator" });
    expect(resolved.body.timeline.at(-1)).toMatchObject({ type: "resolved", actor: "0e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b", detail: { resolution: "operator", note: "false positive" } });
    const again = await api.post(`/api/incidents/${incidentId}/resolve`);
    expect(again.status).toBe(200);
    expect(again.body.timeline.filter((e: any) => e.type === "resolved")).toHaveLength(1);
    expect((await api.post("/api/incidents/7c1c1c1c-0000-4000-8000-000000000000/resolve")).status).toBe(404);
  });

  it("names a person who resolves by the name in their token, keeping their object id beside it", async () => {
    const { incidentId } = await post(wrapContext("log-analytics.json"));
    const olivia = operatorClient(stack.issuer, stack.receiver.url, undefined, {
      objectId: "5e1ec7ed-0000-4000-8000-00000000a001",
      claims: { name: "Olivia Operator", preferred_username: "olivia@secure-export.local" },
    });
    const resolved = await olivia.post(`/api/incidents/${incidentId}/resolve`, { note: "disk cleaned up" });
    expect(resolved.body.timeline.at(-1)).toMatchObject({
      type: "resolved",
      actor: "Olivia Operator",
      detail: { resolution: "operator", actorId: "5e1ec7ed-0000-4000-8000-00000000a001", note: "disk cleaned up" },
      summary: "resolved by Olivia Operator in secure-export: disk cleaned up",
    });
    expect(resolved.body.timeline[0]).toMatchObject({ type: "opened", summary: "opened: the alert fired" });
  });

  it("filters, pages newest first, and refuses callers without the reader role", async () => {
    const times = ["2026-10-01T00:00:00.000Z", "2026-10-02T00:00:00.000Z", "2026-10-03T00:00:00.000Z"];
    for (const t of times) await post(wrapContext("metric-dynamic.json", { firedDateTime: t, severity: "Sev0" }));
    const page1 = await api.get("/api/incidents?severity=Sev0&limit=2");
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((i: any) => i.firedAt)).toEqual([times[2], times[1]]);
    const page2 = await api.get(`/api/incidents?severity=Sev0&limit=2&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items.map((i: any) => i.firedAt)).toEqual([times[0]]);
    expect(page2.body.nextCursor).toBeNull();
    const ranged = await api.get(`/api/incidents?severity=Sev0&from=${times[1]}&to=${times[2]}`);
    expect(ranged.body.items.map((i: any) => i.firedAt)).toEqual([times[1]]);
    expect((await api.get("/api/incidents?state=open&severity=Sev0")).body.items).toHaveLength(3);
    expect((await api.get("/api/incidents?state=bogus")).status).toBe(400);
    expect((await api.get("/api/incidents?cursor=nonsense")).status).toBe(400);
    expect((await api.get("/api/incidents/not-a-uuid")).status).toBe(404);

    const webhookToken = await stack.issuer.mint();
    const denied = await fetch(`${stack.receiver.url}/api/incidents`, { headers: { authorization: `Bearer ${webhookToken}` } });
    expect(denied.status).toBe(403);
    expect((await fetch(`${stack.receiver.url}/api/incidents`)).status).toBe(401);
  });

  it("serves an OpenAPI document generated from the route schemas", async () => {
    const doc = (await (await fetch(`${stack.receiver.url}/openapi.json`)).json()) as any;
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(["/api/alerts", "/api/cis", "/api/cis/{id}", "/api/connectors/{name}/events", "/api/deliveries", "/api/deliveries/{id}", "/api/deliveries/{id}/retry", "/api/incidents", "/api/incidents/{id}", "/api/incidents/{id}/acknowledge", "/api/incidents/{id}/comment", "/api/incidents/{id}/resolve", "/api/routing/explain", "/api/silences", "/api/silences/{id}", "/api/status"]);
    expect(doc.paths["/api/alerts"].post.requestBody.content["application/json"].schema.properties.schemaId.enum).toEqual(["azureMonitorCommonAlertSchema"]);
    expect(doc.paths["/api/incidents"].get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(["alertId", "state", "severity", "ci", "from", "to", "limit", "cursor"]));
  });

  it("counts incidents opened and resolved in /metrics", async () => {
    const text = await (await fetch(`${stack.receiver.metricsUrl}/metrics`)).text();
    expect(text).toMatch(/secure_export_incidents_total\{change="opened",family="metric"\} [1-9]/);
    expect(text).toMatch(/secure_export_incidents_total\{change="resolved",family="activity-log"\} 1/);
    expect(text).toMatch(/secure_export_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/api\/alerts",status="202"\}/);
  });
});
