/**
 * Routing rules end to end, on both stores, with the ITSM fakes: two ServiceNow instances and a
 * BMC Helix one, admission by subscription, routes by subscription and severity that set fields,
 * a maintenance window that holds incidents across a restart, a rejected alert, and routing that
 * stays with an incident when the rules change.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBmcHelixFake, type BmcHelixFake } from "../fakes/bmc-helix-fake.ts";
import { startServiceNowFake, type ServiceNowFake } from "../fakes/servicenow-fake.ts";
import { operatorClient } from "../support/api.ts";
import { eventually } from "../support/eventually.ts";
import { wrapContext } from "../support/fixtures.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";

const PAYMENTS = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e";
const RETAIL = "5c7d9e1f-2a4b-4c6d-8e0f-1a3b5c7d9e2f";
const STRANGER = "99999999-9999-4999-8999-999999999999";
const FAST = { OUTBOX_POLL_MS: "20", OUTBOX_RETRY_BASE_SECONDS: "0", OUTBOX_RETRY_MAX_SECONDS: "1", OUTBOX_MAX_AGE_SECONDS: "600" };

function rules(fakes: { a: ServiceNowFake; b: ServiceNowFake; helix: BmcHelixFake }, window: { from: string; to: string }, paymentsTo = "snow-a"): string {
  return `
admission:
  default: reject
  rules:
    - name: landing-zones
      match: { subscriptions: [${PAYMENTS}, ${RETAIL}] }
      action: admit
connectors:
  snow-a:
    kind: servicenow
    url: ${fakes.a.url}
    auth: { username: ${fakes.a.username}, passwordEnv: SNOW_A_PASSWORD }
  snow-b:
    kind: servicenow
    url: ${fakes.b.url}
    auth: { clientId: ${fakes.b.clientId}, clientSecretEnv: SNOW_B_SECRET }
  helix:
    kind: bmc-helix
    url: ${fakes.helix.url}
    auth: { username: ${fakes.helix.username}, passwordEnv: HELIX_PASSWORD }
    firstName: Azure
    lastName: Monitor
routes:
  - name: network-to-helix
    match: { resourceTypes: ["Microsoft.Network/*"] }
    to: [helix]
    set: { assignedGroup: Network Operations }
    continue: true
  - name: payments-urgent
    match: { subscriptions: [${PAYMENTS}], severities: [Sev0, Sev1] }
    to: [${paymentsTo}]
    set: { assignmentGroup: Payments SRE, urgency: 1, impact: 1 }
  - name: payments
    match: { subscriptions: [${PAYMENTS}] }
    to: [${paymentsTo}]
    set: { assignmentGroup: Payments Operations }
  - name: retail
    match: { subscriptions: [${RETAIL}] }
    to: [snow-b]
    set: { assignmentGroup: Retail Cloud Operations }
maintenance:
  - name: patch-night
    match: { resourceGroups: [rg-patching] }
    from: "${window.from}"
    to: "${window.to}"
`;
}

let counter = 0;
function alert(subscription: string, options: { severity?: string; type?: string; group?: string; condition?: "Fired" | "Resolved"; id?: string } = {}) {
  counter += 1;
  const id = options.id ?? `routing-${counter}`;
  const type = options.type ?? "Microsoft.Compute/virtualMachines";
  return wrapContext("metric-static.json", {
    alertId: `/subscriptions/${subscription}/providers/Microsoft.AlertsManagement/alerts/${id}`,
    severity: options.severity ?? "Sev3",
    monitorCondition: options.condition ?? "Fired",
    ...(options.condition === "Resolved" ? { resolvedDateTime: "2026-11-01T10:05:00.000Z" } : {}),
    alertTargetIDs: [`/subscriptions/${subscription}/resourceGroups/${options.group ?? "rg-app"}/providers/${type}/res-${counter}`],
    configurationItems: [`res-${counter}`],
  });
}


describe.each(STORE_KINDS)("routing rules on $name", (kind) => {
  let store: OpenStore;
  const fakes = {} as { a: ServiceNowFake; b: ServiceNowFake; helix: BmcHelixFake };
  let stack: TestStack;
  let window: { from: string; to: string };
  const env = (text: string) => ({
    ...FAST,
    ROUTING_RULES: text,
    SNOW_A_PASSWORD: fakes.a.password,
    SNOW_B_SECRET: fakes.b.clientSecret,
    HELIX_PASSWORD: fakes.helix.password,
  });
  const api = () => operatorClient(stack.issuer, stack.receiver.url);
  const incidentOf = async (response: Response) => {
    expect(response.status).toBe(202);
    const body = (await response.json()) as { incidentId: string };
    return (await api().get(`/api/incidents/${body.incidentId}`)).body;
  };

  beforeAll(async () => {
    store = await kind.open();
    [fakes.a, fakes.b, fakes.helix] = await Promise.all([startServiceNowFake(), startServiceNowFake(), startBmcHelixFake()]);
    // A window open now, ending in a few seconds: long enough to hold, restart and still be inside it.
    window = { from: new Date(Date.now() - 60_000).toISOString(), to: new Date(Date.now() + 12_000).toISOString() };
    stack = await startTestStack({ db: store.db, env: env(rules(fakes, window)) });
  });
  afterAll(async () => {
    await stack?.close();
    await Promise.all([fakes.a?.close(), fakes.b?.close(), fakes.helix?.close()]);
    await store?.close();
  });

  it("answers an alert the admission rules refuse with 202 not_admitted, keeps it, and opens nothing", async () => {
    const body = alert(STRANGER);
    const response = await stack.postAlert(body);
    expect(response.status).toBe(202);
    const answer = (await response.json()) as { status: string; rule: string | null; notificationId: string };
    expect(answer).toMatchObject({ status: "not_admitted", rule: null });
    const stored = await store.db.query<{ admitted: boolean }>("SELECT admitted FROM notifications WHERE id = $1", [answer.notificationId]);
    expect(stored.rows).toEqual([{ admitted: false }]);
    expect((await api().get(`/api/incidents?alertId=${encodeURIComponent(body.data.essentials.alertId)}`)).body.items).toEqual([]);
    // The same delivery again is answered the same way.
    expect(await (await stack.postAlert(body)).json()).toMatchObject({ status: "not_admitted", duplicate: true });
    const metrics = await (await fetch(`${stack.receiver.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/secure_export_notifications_total\{outcome="not_admitted",reason="default"\} [1-9]/);
  });

  it("routes by subscription and severity to the instance the route names, with the fields it sets", async () => {
    const urgent = await incidentOf(await stack.postAlert(alert(PAYMENTS, { severity: "Sev1" })));
    expect(urgent.routing).toMatchObject({ admitted: true, connectors: ["snow-a"], routes: [{ name: "payments-urgent" }] });
    // The ledger's own events; the ITSM steps (ticket_created) may already follow them.
    expect(urgent.timeline.map((e: { type: string }) => e.type).slice(0, 2)).toEqual(["opened", "routed"]);
    const created = await eventually(() => fakes.a.incidents().find((i) => i.correlation_id === urgent.deliveries?.[0]?.externalId || i.description?.includes(urgent.alertId)), "the urgent incident in snow-a");
    expect(created).toMatchObject({ assignment_group: "Payments SRE", urgency: "1", impact: "1" });

    const routine = await incidentOf(await stack.postAlert(alert(PAYMENTS, { severity: "Sev3" })));
    expect(routine.routing.routes.map((r: { name: string }) => r.name)).toEqual(["payments"]);
    await eventually(() => fakes.a.incidents().find((i) => i.description?.includes(routine.alertId) && i.assignment_group === "Payments Operations"), "the routine incident in snow-a");
    expect(fakes.b.incidents().filter((i) => i.description?.includes(routine.alertId))).toEqual([]);
  });

  it("sends a network alert of the retail zone to its ServiceNow and to the network team's BMC Helix", async () => {
    const network = await incidentOf(await stack.postAlert(alert(RETAIL, { type: "Microsoft.Network/loadBalancers" })));
    expect(network.routing.connectors).toEqual(["helix", "snow-b"]);
    await eventually(() => fakes.b.incidents().find((i) => i.description?.includes(network.alertId) && i.assignment_group === "Retail Cloud Operations"), "snow-b");
    await eventually(() => fakes.helix.incidents().find((v) => String(v.Detailed_Decription ?? "").includes(network.alertId) && v["Assigned Group"] === "Network Operations"), "helix");
    expect(fakes.a.incidents().filter((i) => i.description?.includes(network.alertId))).toEqual([]);
  });

  it("explains what the rules would do without storing anything", async () => {
    const body = alert(PAYMENTS, { severity: "Sev0", group: "rg-patching" });
    const explained = await api().post("/api/routing/explain", body);
    expect(explained.status).toBe(200);
    expect(explained.body).toMatchObject({
      admitted: true,
      connectors: ["snow-a"],
      deliveries: [{ connector: "snow-a", route: "payments-urgent", fields: { assignment_group: "Payments SRE", urgency: "1", impact: "1" } }],
      maintenance: { held: true, window: "patch-night", until: new Date(window.to).toISOString() },
    });
    expect(explained.body.explanation.join("\n")).toMatch(/route "payments-urgent" matches/);
    expect((await api().get(`/api/incidents?alertId=${encodeURIComponent(body.data.essentials.alertId)}`)).body.items).toEqual([]);
  });

  it("holds incidents inside a maintenance window across a restart, sends the open one when it ends and never the one resolved inside it", { timeout: 60_000 }, async () => {
    const stillOpen = await incidentOf(await stack.postAlert(alert(PAYMENTS, { group: "rg-patching", id: "held-open" })));
    const fixedMeanwhile = alert(PAYMENTS, { group: "rg-patching", id: "held-resolved" });
    const resolvedInside = await incidentOf(await stack.postAlert(fixedMeanwhile));
    for (const held of [stillOpen, resolvedInside]) {
      expect(held.hold).toEqual({ window: "patch-night", until: new Date(window.to).toISOString() });
      expect(held.timeline.map((e: { type: string }) => e.type)).toEqual(["opened", "routed", "held"]);
    }
    const resolved = structuredClone(fixedMeanwhile);
    resolved.data.essentials.monitorCondition = "Resolved";
    resolved.data.essentials.resolvedDateTime = "2026-11-01T10:05:00.000Z";
    expect((await stack.postAlert(resolved)).status).toBe(202);

    // A restart in the middle of the window: the holds are in the ledger.
    await stack.close();
    stack = await startTestStack({ db: store.db, env: env(rules(fakes, window)) });
    expect(fakes.a.incidents().filter((i) => /held-(open|resolved)/.test(i.description ?? ""))).toEqual([]);

    await eventually(() => fakes.a.incidents().find((i) => i.description?.includes("held-open")), "the held incident sent when the window ends", 40_000);
    const released = await eventually(async () => {
      const incident = (await api().get(`/api/incidents/${stillOpen.id}`)).body;
      return incident.timeline.some((e: { type: string }) => e.type === "ticket_created") && incident;
    }, "the ticket in the released incident's timeline");
    expect(released.hold).toBeNull();
    // Released, then the ticket it was held from.
    const afterHold = released.timeline.slice(released.timeline.findIndex((e: { type: string }) => e.type === "released"));
    expect(afterHold[0]).toMatchObject({ type: "released", detail: { window: "patch-night", sent: true } });
    expect(afterHold.slice(1).map((e: { type: string }) => e.type)).toEqual(["ticket_created"]);
    const never = await eventually(async () => {
      const incident = (await api().get(`/api/incidents/${resolvedInside.id}`)).body;
      return incident.hold === null && incident;
    }, "the resolved incident released");
    expect(never.timeline.at(-1)).toMatchObject({ type: "released", detail: { sent: false } });
    expect(never.deliveries).toEqual([]);
    expect(fakes.a.incidents().filter((i) => i.description?.includes("held-resolved"))).toEqual([]);
  });

  it("sends a resolve where the create went, even after the rules changed", { timeout: 60_000 }, async () => {
    const fired = alert(PAYMENTS, { severity: "Sev2", id: "sticky" });
    const incident = await incidentOf(await stack.postAlert(fired));
    const created = await eventually(() => fakes.a.incidents().find((i) => i.description?.includes("sticky")), "the create in snow-a");
    await stack.close();
    stack = await startTestStack({ db: store.db, env: env(rules(fakes, window, "snow-b")) });
    const resolved = structuredClone(fired);
    resolved.data.essentials.monitorCondition = "Resolved";
    resolved.data.essentials.resolvedDateTime = "2026-11-01T10:05:00.000Z";
    expect((await stack.postAlert(resolved)).status).toBe(202);
    await eventually(() => fakes.a.incidents().find((i) => i.sys_id === created.sys_id && i.state === "6"), "the resolve in snow-a");
    expect(fakes.b.incidents().filter((i) => i.description?.includes("sticky"))).toEqual([]);
    expect((await api().get(`/api/incidents/${incident.id}`)).body.routing.connectors).toEqual(["snow-a"]);
  });
});
