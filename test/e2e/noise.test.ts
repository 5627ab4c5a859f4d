/**
 * Noise control end to end (docs/noise.md), on both stores, with the ServiceNow and BMC Helix
 * stand-ins: 50 alerts of one rule make one ticket whose member changes arrive as work notes and
 * work logs at most once per groupInterval; an alert that fires and resolves inside holdFor makes
 * none; a rule that flaps makes one ticket and one flapping update; a storm of 200 stays within
 * the guard's budget plus one storm ticket; a silence added and expired through the CLI holds and
 * then releases; and explain and the timeline say which rule, key, hold and silence applied.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBmcHelixFake, type BmcHelixFake } from "../fakes/bmc-helix-fake.ts";
import { startServiceNowFake, type ServiceNowFake } from "../fakes/servicenow-fake.ts";
import { operatorClient } from "../support/api.ts";
import { eventually } from "../support/eventually.ts";
import { wrapContext } from "../support/fixtures.ts";
import { run } from "../support/processes.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";

const APP = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e";
const NETWORK = "5c7d9e1f-2a4b-4c6d-8e0f-1a3b5c7d9e2f";
const FAST = { OUTBOX_POLL_MS: "20", OUTBOX_RETRY_BASE_SECONDS: "0", OUTBOX_RETRY_MAX_SECONDS: "1", OUTBOX_MAX_AGE_SECONDS: "600", NOISE_TIMER_MS: "200" };
const GROUP_INTERVAL_MS = 2000;

function rules(snow: ServiceNowFake, helix: BmcHelixFake): string {
  return `
connectors:
  snow:
    kind: servicenow
    url: ${snow.url}
    auth: { username: ${snow.username}, passwordEnv: SNOW_PASSWORD }
  helix:
    kind: bmc-helix
    url: ${helix.url}
    auth: { username: ${helix.username}, passwordEnv: HELIX_PASSWORD }
    firstName: Azure
    lastName: Monitor
routes:
  - name: network
    match: { subscriptions: [${NETWORK}] }
    to: [helix]
  - name: everything-else
    to: [snow]
noise:
  - name: per-rule
    match: { alertRules: ["cpu-high-*"] }
    groupBy: [alertRule, subscription]
    groupWait: 2s
    groupInterval: 2s
  - name: blips
    match: { alertRules: ["blip-*"] }
    holdFor: 4s
  - name: flappy
    match: { alertRules: ["flappy-*"] }
    flapping: { changes: 4, within: 10m, quietFor: 5s }
storm:
  - name: outage
    match: { alertRules: ["outage-*"] }
    maxNewTickets: 5
    per: 10m
    groupInterval: 2s
`;
}

let counter = 0;
/** A metric alert fired now (holds count from firedDateTime), one alertId per call unless given. */
function alert(options: { rule: string; subscription?: string; vm?: string; id?: string; resolved?: boolean; firedAt?: string }) {
  counter += 1;
  const subscription = options.subscription ?? APP;
  const vm = options.vm ?? `vm-${counter}`;
  const firedAt = options.firedAt ?? new Date().toISOString();
  return wrapContext("metric-static.json", {
    alertId: `/subscriptions/${subscription}/providers/Microsoft.AlertsManagement/alerts/${options.id ?? `noise-${counter}-${Date.now()}`}`,
    alertRule: options.rule,
    severity: "Sev3",
    monitorCondition: options.resolved ? "Resolved" : "Fired",
    firedDateTime: firedAt,
    ...(options.resolved ? { resolvedDateTime: new Date(Date.parse(firedAt) + 1000).toISOString() } : {}),
    alertTargetIDs: [`/subscriptions/${subscription}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/${vm}`],
    configurationItems: [vm],
  });
}

const resolvedOf = (fired: any) => {
  const body = structuredClone(fired);
  body.data.essentials.monitorCondition = "Resolved";
  body.data.essentials.resolvedDateTime = new Date(Date.parse(body.data.essentials.firedDateTime) + 1000).toISOString();
  return body;
};

describe.each(STORE_KINDS)("noise control on $name", (kind) => {
  let store: OpenStore;
  let snow: ServiceNowFake;
  let helix: BmcHelixFake;
  let stack: TestStack;
  const api = () => operatorClient(stack.issuer, stack.receiver.url);
  const post = async (body: unknown) => {
    const response = await stack.postAlert(body);
    expect(response.status).toBe(202);
    return ((await response.json()) as { incidentId: string }).incidentId;
  };
  const incident = async (id: string) => {
    const { status, body } = await api().get(`/api/incidents/${id}`);
    expect(status).toBe(200);
    return body;
  };
  const ticketsFor = (text: string) => snow.incidents().filter((i) => (i.short_description ?? "").includes(text) || (i.description ?? "").includes(text));

  beforeAll(async () => {
    store = await kind.open();
    [snow, helix] = await Promise.all([startServiceNowFake(), startBmcHelixFake()]);
    stack = await startTestStack({ db: store.db, env: { ...FAST, ROUTING_RULES: rules(snow, helix), SNOW_PASSWORD: snow.password, HELIX_PASSWORD: helix.password } });
  });
  afterAll(async () => {
    await stack?.close();
    await Promise.all([snow?.close(), helix?.close()]);
    await store?.close();
  });

  it("makes one ServiceNow ticket of 50 alerts of one rule, and tells member changes as work notes at most once per groupInterval", { timeout: 60_000 }, async () => {
    const ids = await Promise.all(Array.from({ length: 50 }, () => post(alert({ rule: "cpu-high-web" }))));
    const member = await incident(ids[0]!);
    const grouped = member.timeline.find((e: any) => e.type === "grouped");
    expect(grouped.detail).toMatchObject({ kind: "group", rule: "per-rule", key: `alertRule=cpu-high-web, subscription=${APP}` });
    expect(member.problemId).toBe(grouped.detail.problemId);
    const group = await incident(member.problemId);
    expect(group).toMatchObject({ kind: "group", state: "open", problem: { members: 50, open: 50 } });
    expect(new Set(await Promise.all(ids.map(async (id) => (await incident(id)).problemId)))).toEqual(new Set([group.id]));

    // groupWait: no ticket before it ends, one ticket after, listing the group.
    const tickets = await eventually(() => {
      const found = snow.incidents().filter((i) => i.correlation_id && (i.description ?? "").includes("cpu-high-web"));
      return found.length > 0 && found;
    }, "the group's ticket", 20_000);
    expect(tickets).toHaveLength(1);
    expect(tickets[0]!.description).toContain("Alerts: 50, firing: 50");
    expect(tickets[0]!.description).toContain("Only the first 20 are listed");
    const sysId = tickets[0]!.sys_id!;

    // Ten members resolve, in three bursts: the ticket reads them in at most one note per groupInterval.
    const started = Date.now();
    for (const burst of [ids.slice(0, 4), ids.slice(4, 7), ids.slice(7, 10)]) {
      await Promise.all(burst.map(async (id) => post(resolvedOf(await rawAlert(id)))));
      await new Promise((r) => setTimeout(r, 300));
    }
    const notes = await eventually(() => {
      const all = snow.workNotes(sysId);
      return all.join("\n").split("resolved:").length - 1 === 10 && all;
    }, "ten resolves in work notes", 20_000);
    const elapsed = Date.now() - started;
    expect(notes.length).toBeLessThanOrEqual(Math.ceil(elapsed / GROUP_INTERVAL_MS) + 1);
    expect(notes.every((n) => /of 50 alerts firing/.test(n))).toBe(true);
    expect(snow.incidents().filter((i) => (i.description ?? "").includes("cpu-high-web"))).toHaveLength(1);
    expect((await incident(group.id)).problem).toMatchObject({ members: 50, open: 40 });
  });

  it("makes one BMC Helix incident of a group and writes member changes to its work log", { timeout: 60_000 }, async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, () => post(alert({ rule: "cpu-high-router", subscription: NETWORK }))));
    const number = await eventually(() => helix.incidents().find((v) => (v.Detailed_Decription ?? "").includes("cpu-high-router"))?.["Incident Number"], "the group's Helix incident", 20_000);
    expect(helix.incidents().filter((v) => (v.Detailed_Decription ?? "").includes("cpu-high-router"))).toHaveLength(1);
    await post(resolvedOf(await rawAlert(ids[0]!)));
    const logs = await eventually(() => helix.workLogs(number).length > 0 && helix.workLogs(number), "a work log", 20_000);
    expect(logs[0]).toMatchObject({ "Work Log Type": "General Information", "View Access": "Internal" });
    expect(logs[0]!["Detailed Description"]).toContain("resolved:");
  });

  it("sends nothing for an alert that fires and resolves inside holdFor, and records it as transient", { timeout: 60_000 }, async () => {
    const fired = alert({ rule: "blip-disk", vm: "vm-blip" });
    const id = await post(fired);
    const held = await incident(id);
    expect(held.timeline.map((e: any) => e.type)).toEqual(["opened", "routed", "held"]);
    expect(held.timeline[2].detail).toMatchObject({ transient: true, rule: "blips", until: held.routing.noise.holdUntil });
    expect(held.noise).toMatchObject({ dispatched: false, holds: [{ kind: "transient" }] });
    await post(resolvedOf(fired));
    const after = await eventually(async () => {
      const current = await incident(id);
      return current.noise?.transient && current;
    }, "the hold to end", 20_000);
    expect(after.timeline.map((e: any) => e.type)).toEqual(["opened", "routed", "held", "resolved", "released", "transient"]);
    expect(after.deliveries).toEqual([]);
    expect(ticketsFor("blip-disk")).toEqual([]);

    // The same kind of alert still firing when the hold ends gets its ticket.
    const lasting = await post(alert({ rule: "blip-disk", vm: "vm-lasting" }));
    await eventually(() => ticketsFor("vm-lasting").length === 1, "the ticket after the hold", 20_000);
    expect((await incident(lasting)).timeline.find((e: any) => e.type === "released")).toMatchObject({ detail: { sent: true } });
  });

  it("makes one ticket and one flapping update of an alert that fires and resolves six times", { timeout: 60_000 }, async () => {
    // Azure gives each firing of a rule on a resource a new alertId: the series flaps, not one alert.
    const ids: string[] = [];
    for (let flap = 0; flap < 6; flap++) {
      const fired = alert({ rule: "flappy-cpu", vm: "vm-flappy" });
      ids.push(await post(fired));
      if (flap === 0) await eventually(() => ticketsFor("flappy-cpu").length === 1, "the first ticket", 20_000);
      await post(resolvedOf(fired));
    }
    const group = await incident((await incident(ids[0]!)).problemId);
    expect(group.problem).toMatchObject({ members: 6, flap: { since: expect.any(String) } });
    expect(new Set(await Promise.all(ids.map(async (id) => (await incident(id)).problemId)))).toEqual(new Set([group.id]));
    const [ticket] = ticketsFor("flappy-cpu");
    expect(ticketsFor("flappy-cpu")).toHaveLength(1);
    await eventually(() => snow.workNotes(ticket!.sys_id!).some((n) => /flapping/.test(n)), "the flapping note");
    // The note and the reopen that goes with it are two deliveries: the ticket's state is read once both arrived.
    await eventually(async () => (await incident(group.id)).deliveries.every((d: any) => d.status === "delivered"), "the group's deliveries");
    expect(snow.workNotes(ticket!.sys_id!).filter((n) => /are flapping/.test(n))).toHaveLength(1);
    expect(group.timeline.filter((e: any) => e.type === "flapping_started")).toHaveLength(1);
    // A flapping group's ticket stays open (it is a problem), and no resolve or reopen follows while it flaps.
    expect(snow.incidents().find((i) => i.sys_id === ticket!.sys_id)!.state).toBe("2");
    // Quiet for quietFor: the ticket gets the group's state (resolved) once, with a note.
    await eventually(() => snow.workNotes(ticket!.sys_id!).some((n) => /No longer flapping/.test(n)), "the end of the flapping", 20_000);
    await eventually(() => snow.incidents().find((i) => i.sys_id === ticket!.sys_id && i.state === "6"), "the resolve after the flapping");
    expect(snow.workNotes(ticket!.sys_id!).filter((n) => /No longer flapping/.test(n))).toHaveLength(1);
  });

  it("keeps a storm of 200 alerts within the guard's budget plus one storm ticket, every alert stored", { timeout: 90_000 }, async () => {
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => post(alert({ rule: `outage-${i}`, vm: `vm-outage-${i}` }))));
    expect(new Set(ids).size).toBe(200);
    await eventually(async () => (await api().get("/api/deliveries?status=pending&limit=200")).body.items.length === 0, "the outbox drained", 40_000);
    const stormTickets = snow.incidents().filter((i) => /outage-\d+|Alert storm/.test(`${i.short_description} ${i.description}`));
    expect(stormTickets.length).toBeLessThanOrEqual(5 + 1);
    const storm = (await api().get("/api/incidents?kind=storm")).body.items;
    expect(storm).toHaveLength(1);
    expect(storm[0].problem).toMatchObject({ kind: "storm", rule: "outage", members: 195 });
    const members = (await api().get(`/api/incidents?problemId=${storm[0].id}&limit=200`)).body.items;
    expect(members).toHaveLength(195);
  });

  it("holds an alert a silence added through the CLI covers, and sends it when the silence is expired through the CLI", { timeout: 90_000 }, async () => {
    const cli = (args: string[]) => run(["receiver/cli/secure-export.ts", ...args], { PATH: process.env.PATH, RECEIVER_URL: stack.receiver.url }, 60_000);
    const added = await cli(["silences", "add", "--alert-rule", "patching-*", "--duration", "2h", "--comment", "patch night", "--json"]);
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    const silence = JSON.parse(added.stdout);
    expect(silence).toMatchObject({ state: "active", comment: "patch night", match: { alertRules: ["patching-*"] } });

    const body = alert({ rule: "patching-vm", vm: "vm-patched" });
    const explained = await api().post("/api/routing/explain", body);
    expect(explained.body.noiseNow.silences).toEqual([{ id: silence.id, until: silence.endsAt, comment: "patch night" }]);
    expect(explained.body.explanation.join("\n")).toContain(`silence ${silence.id}`);

    const id = await post(body);
    const held = await incident(id);
    expect(held.timeline.find((e: any) => e.type === "held").detail).toEqual({ silence: silence.id, until: silence.endsAt });
    const listed = await cli(["silences", "list", "--state", "active"]);
    expect(listed.stdout).toContain(silence.id);
    await new Promise((r) => setTimeout(r, 1000));
    expect(ticketsFor("vm-patched")).toEqual([]);

    const expired = await cli(["silences", "expire", silence.id]);
    expect(expired.code).toBe(0);
    expect(expired.stdout).toContain("1 held incident released");
    await eventually(() => ticketsFor("vm-patched").length === 1, "the released ticket", 20_000);
    expect((await incident(id)).timeline.find((e: any) => e.type === "released")).toMatchObject({ detail: { silences: [silence.id], sent: true } });
    expect((await cli(["silences", "list", "--state", "expired"])).stdout).toContain(silence.id);
  });

  /** The alert body an incident was created from (its first notification), for sending its resolve. */
  async function rawAlert(incidentId: string): Promise<any> {
    const { rows } = await store.db.query<{ raw_payload: string }>(
      "SELECT n.raw_payload FROM incident_events e JOIN notifications n ON n.id = e.notification_id WHERE e.incident_id = $1::uuid AND e.type = 'opened'",
      [incidentId],
    );
    return JSON.parse(rows[0]!.raw_payload);
  }
});
