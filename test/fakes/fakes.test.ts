/** The fakes enforce the contracts they stand for, so a connector that cuts corners fails against them. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBmcHelixFake, type BmcHelixFake } from "./bmc-helix-fake.ts";
import { startServiceNowFake, type ServiceNowFake } from "./servicenow-fake.ts";

let sn: ServiceNowFake;
let helix: BmcHelixFake;
beforeAll(async () => {
  sn = await startServiceNowFake();
  helix = await startBmcHelixFake();
});
afterAll(async () => {
  await sn.close();
  await helix.close();
});

const basic = () => `Basic ${Buffer.from(`${sn.username}:${sn.password}`).toString("base64")}`;
const snCall = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${sn.url}${path}`, {
    method,
    headers: { accept: "application/json", authorization: basic(), ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe("ServiceNow fake", () => {
  it("refuses bad credentials and missing JSON headers with its error envelope", async () => {
    const denied = await snCall("GET", "/api/now/table/incident", undefined, { authorization: "Basic eDp5" });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ error: { message: "User Not Authenticated", detail: "Required to provide Auth information" }, status: "failure" });
    expect((await snCall("GET", "/api/now/table/incident", undefined, { accept: "text/html" })).status).toBe(406);
    expect((await snCall("POST", "/api/now/table/incident", { short_description: "x" }, { "content-type": "text/plain" })).status).toBe(415);
  });

  it("requires short_description, keeps correlation_id to 100 characters, and requires close_code and close_notes to resolve", async () => {
    expect((await snCall("POST", "/api/now/table/incident", { description: "x" })).status).toBe(400);
    expect((await snCall("POST", "/api/now/table/incident", { short_description: "x", correlation_id: "c".repeat(101) })).status).toBe(400);
    const created = await snCall("POST", "/api/now/table/incident", { short_description: "x", correlation_id: "k1", made_up_field: "dropped" });
    expect(created.status).toBe(201);
    const { result } = (await created.json()) as { result: Record<string, string> };
    expect(result.made_up_field).toBeUndefined();
    expect((await snCall("PATCH", `/api/now/table/incident/${result.sys_id}`, { state: "6" })).status).toBe(400);
    expect((await snCall("PATCH", `/api/now/table/incident/${result.sys_id}`, { state: "6", close_code: "Resolved by caller", close_notes: "done" })).status).toBe(200);
  });

  it("ignores a query on an unknown field, returning unrelated rows", async () => {
    const response = await snCall("GET", `/api/now/table/incident?sysparm_query=${encodeURIComponent("no_such_field=zzz")}`);
    expect(((await response.json()) as { result: unknown[] }).result.length).toBeGreaterThan(0);
  });

  it("issues OAuth tokens that expire on request", async () => {
    const tokenResponse = await fetch(`${sn.url}/oauth_token.do`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: sn.clientId, client_secret: sn.clientSecret }),
    });
    const { access_token } = (await tokenResponse.json()) as { access_token: string };
    expect((await snCall("GET", "/api/now/table/incident", undefined, { authorization: `Bearer ${access_token}` })).status).toBe(200);
    sn.expireTokens();
    expect((await snCall("GET", "/api/now/table/incident", undefined, { authorization: `Bearer ${access_token}` })).status).toBe(401);
  });

  // Incident dictionary: short_description 160, correlation_id 100; description and close_notes 4,000.
  it("refuses incident fields longer than they hold, on create and update", async () => {
    expect((await snCall("POST", "/api/now/table/incident", { short_description: "s".repeat(161) })).status).toBe(400);
    expect((await snCall("POST", "/api/now/table/incident", { short_description: "s", description: "d".repeat(4001) })).status).toBe(400);
    const created = await snCall("POST", "/api/now/table/incident", { short_description: "s".repeat(160), description: "d".repeat(4000) });
    expect(created.status).toBe(201);
    const { result } = (await created.json()) as { result: Record<string, string> };
    const resolve = { state: "6", close_code: "Resolved by caller" };
    const tooLong = await snCall("PATCH", `/api/now/table/incident/${result.sys_id}`, { ...resolve, close_notes: "n".repeat(4001) });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ error: { message: "close_notes exceeds 4000 characters (4001)" } });
  });

  // https://docs.servicenow.com/bundle/orlando-it-operations-management/page/product/event-management/concept/c_EMIntegrateRequirementEvent.html
  // source, node, type and resource hold 100 characters, message_key 1,024; additional_info holds
  // key/value pairs with string values.
  it("refuses event fields longer than em_event holds, and additional_info values that are not strings", async () => {
    const record = { source: "Azure Monitor", severity: "3", message_key: "k" };
    const armId = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";
    for (const field of ["source", "node", "type", "resource"]) {
      expect((await snCall("POST", "/api/global/em/jsonv2", { records: [{ ...record, [field]: "x".repeat(101) }] })).status).toBe(400);
    }
    const resource = await snCall("POST", "/api/global/em/jsonv2", { records: [{ ...record, resource: armId }] });
    expect(await resource.json()).toMatchObject({ error: { message: "resource exceeds 100 characters (117)" } });
    expect((await snCall("POST", "/api/global/em/jsonv2", { records: [{ ...record, message_key: "k".repeat(1025) }] })).status).toBe(400);
    const arrays = await snCall("POST", "/api/global/em/jsonv2", { records: [{ ...record, additional_info: JSON.stringify({ resourceIds: [armId] }) }] });
    expect(arrays.status).toBe(400);
    expect(await arrays.json()).toMatchObject({ error: { message: "additional_info.resourceIds must be a string" } });
    expect((await snCall("POST", "/api/global/em/jsonv2", { records: [{ ...record, additional_info: "[1]" }] })).status).toBe(400);
    expect((await snCall("POST", "/api/global/em/jsonv2", { records: [{ ...record, resource: "x".repeat(100), additional_info: JSON.stringify({ resourceId: armId }) }] })).status).toBe(200);
  });

  it("requires Event Management additional_info to be a JSON string", async () => {
    const record = { source: "Azure Monitor", severity: "3", message_key: "k" };
    expect((await snCall("POST", "/api/global/em/jsonv2", { records: [{ ...record, additional_info: { a: 1 } }] })).status).toBe(400);
    expect((await snCall("POST", "/api/global/em/jsonv2", { records: [{ ...record, severity: "7" }] })).status).toBe(400);
    expect((await snCall("POST", "/api/global/em/jsonv2", { records: [{ ...record, additional_info: "{\"a\":\"1\"}" }] })).status).toBe(200);
  });

  // work_notes is a journal field: each write is one more entry in the incident's activity, never a replaced value.
  it("keeps each work note as a journal entry, adds nothing for an empty one, and refuses one over 4,000 characters", async () => {
    const created = await snCall("POST", "/api/now/table/incident", { short_description: "noted" });
    const { result } = (await created.json()) as { result: Record<string, string> };
    const path = `/api/now/table/incident/${result.sys_id}`;
    expect((await snCall("PATCH", path, { work_notes: "first" })).status).toBe(200);
    expect((await snCall("PATCH", path, { work_notes: "second" })).status).toBe(200);
    expect((await snCall("PATCH", path, { work_notes: "  " })).status).toBe(200);
    expect((await snCall("PATCH", path, { work_notes: "n".repeat(4001) })).status).toBe(400);
    expect(sn.workNotes(result.sys_id!)).toEqual(["first", "second"]);
    expect(sn.incidents().find((i) => i.sys_id === result.sys_id)!.work_notes).toBeUndefined();
    // A refused resolve writes no note either.
    expect((await snCall("PATCH", path, { state: "6", work_notes: "third" })).status).toBe(400);
    expect(sn.workNotes(result.sys_id!)).toEqual(["first", "second"]);
  });

  it("rate-limits with Retry-After, fails, goes down and applies a request whose answer it drops", async () => {
    sn.rateLimitNext(1, 3);
    const limited = await snCall("GET", "/api/now/table/incident");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("3");
    sn.fail(1, 502);
    expect((await snCall("GET", "/api/now/table/incident")).status).toBe(502);
    sn.down("503");
    expect((await snCall("GET", "/api/now/table/incident")).status).toBe(503);
    sn.up();
    const before = sn.incidents().length;
    sn.dropNextResponses(1);
    await expect(snCall("POST", "/api/now/table/incident", { short_description: "lost" })).rejects.toThrow();
    expect(sn.incidents()).toHaveLength(before + 1);
  });
});

describe("BMC Helix fake", () => {
  const login = async () =>
    (await fetch(`${helix.url}/api/jwt/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ username: helix.username, password: helix.password }) })).text();
  const values = { First_Name: "A", Last_Name: "B", Description: "d", Impact: "4-Minor/Localized", Urgency: "4-Low", Status: "New", "Reported Source": "Systems Management", Service_Type: "Infrastructure Event" };
  const call = (token: string, method: string, path: string, body?: unknown) =>
    fetch(`${helix.url}${path}`, { method, headers: { authorization: `AR-JWT ${token}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  it("logs in with a form and answers the token as plain text; expired tokens get 401 with the error array", async () => {
    const token = await login();
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    helix.expireTokens();
    const denied = await call(token, "GET", "/api/arsys/v1/entry/HPD:IncidentInterface");
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual([expect.objectContaining({ messageType: "ERROR", messageNumber: 623 })]);
  });

  it("requires the create values and their selection values, and reads back the Incident Number", async () => {
    const token = await login();
    const path = "/api/arsys/v1/entry/HPD:IncidentInterface_Create?fields=values(Incident%20Number)";
    expect((await call(token, "POST", path, { values: { ...values, Urgency: "urgent" } })).status).toBe(400);
    const { First_Name: _, ...noFirstName } = values;
    expect((await call(token, "POST", path, { values: noFirstName })).status).toBe(400);
    // AR System: ERROR 306 "Value does not fall within the limits specified for the field"; Description holds 100.
    const long = await call(token, "POST", path, { values: { ...values, Description: "d".repeat(101) } });
    expect(long.status).toBe(400);
    expect(await long.json()).toEqual([expect.objectContaining({ messageNumber: 306, messageText: expect.stringContaining("Description") })]);
    const created = await call(token, "POST", path, { values });
    expect(created.status).toBe(201);
    const number = ((await created.json()) as { values: Record<string, string> }).values["Incident Number"]!;
    const found = (await (await call(token, "GET", `/api/arsys/v1/entry/HPD:IncidentInterface?q=${encodeURIComponent(`'Incident Number'="${number}"`)}`)).json()) as { entries: Array<{ _links: { self: Array<{ href: string }> } }> };
    const self = new URL(found.entries[0]!._links.self[0]!.href);
    expect((await call(token, "PUT", self.pathname, { values: { Status: "Resolved" } })).status).toBe(400);
    expect((await call(token, "PUT", self.pathname, { values: { Status: "Resolved", Status_Reason: "Automated Resolution Reported", Resolution: "r".repeat(4001) } })).status).toBe(400);
    expect((await call(token, "PUT", self.pathname, { values: { Status: "Resolved", Status_Reason: "Automated Resolution Reported", Resolution: "ok" } })).status).toBe(204);
  });

  // HPD:WorkLog: "to update work info of an incident" (BMC Helix ITSM, the platform REST API references).
  it("adds work info to an existing incident only, with a known type and view access and a Summary of at most 100 characters", async () => {
    const token = await login();
    const created = await call(token, "POST", "/api/arsys/v1/entry/HPD:IncidentInterface_Create?fields=values(Incident%20Number)", { values });
    const number = ((await created.json()) as { values: Record<string, string> }).values["Incident Number"]!;
    const work = { "Incident Number": number, "Work Log Type": "General Information", Description: "summary", "Detailed Description": "notes", "View Access": "Internal", "Secure Work Log": "No" };
    const path = "/api/arsys/v1/entry/HPD:WorkLog";
    expect((await call(token, "POST", path, { values: { ...work, "Incident Number": "INC000000999999" } })).status).toBe(400);
    expect((await call(token, "POST", path, { values: { ...work, "Work Log Type": "Gossip" } })).status).toBe(400);
    expect((await call(token, "POST", path, { values: { ...work, "View Access": "Everyone" } })).status).toBe(400);
    const { Description: _, ...noSummary } = work;
    expect((await call(token, "POST", path, { values: noSummary })).status).toBe(400);
    const long = await call(token, "POST", path, { values: { ...work, Description: "s".repeat(101) } });
    expect(await long.json()).toEqual([expect.objectContaining({ messageNumber: 306, messageText: expect.stringContaining("Description") })]);
    expect((await call(token, "POST", path, { values: work })).status).toBe(201);
    expect(helix.workLogs(number)).toEqual([expect.objectContaining({ "Detailed Description": "notes", "Work Log Type": "General Information" })]);
  });
});

describe("the stand-ins' records across a restart (npm start -- --with-itsm keeps them in DATA_DIR)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "secure-export-fakes-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("ServiceNow keeps its incidents and CMDB, and never hands out a number twice", async () => {
    const stateFile = join(dir, "servicenow.json");
    const first = await startServiceNowFake({ stateFile });
    const call = (fake: typeof first, method: string, path: string, body?: unknown) =>
      fetch(`${fake.url}${path}`, {
        method,
        headers: { accept: "application/json", authorization: `Basic ${Buffer.from(`${fake.username}:${fake.password}`).toString("base64")}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const ci = first.addCi({ name: "vm1", object_id: "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1" });
    const created = ((await (await call(first, "POST", "/api/now/table/incident", { short_description: "before", cmdb_ci: ci })).json()) as { result: Record<string, string> }).result;
    await first.close();

    const second = await startServiceNowFake({ stateFile });
    try {
      expect(second.incidents()).toEqual([created]);
      expect(second.addCi({ name: "vm1", object_id: "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1" })).toBe(ci);
      const next = ((await (await call(second, "POST", "/api/now/table/incident", { short_description: "after" })).json()) as { result: Record<string, string> }).result;
      expect(next.number).not.toBe(created.number);
      expect(Number(next.number!.slice(3))).toBe(Number(created.number!.slice(3)) + 1);
      // Still the documented API: resolving without close_code is refused after a restart too.
      expect((await call(second, "PATCH", `/api/now/table/incident/${created.sys_id}`, { state: "6" })).status).toBe(400);
    } finally {
      await second.close();
    }
  });

  it("BMC Helix keeps its entries and never hands out a number twice", async () => {
    const stateFile = join(dir, "bmc-helix.json");
    const create = async (fake: BmcHelixFake, summary: string) => {
      const token = await (await fetch(`${fake.url}/api/jwt/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ username: fake.username, password: fake.password }) })).text();
      const values = { First_Name: "Azure", Last_Name: "Monitor", Description: summary, Impact: "4-Minor/Localized", Urgency: "4-Low", Status: "New", "Reported Source": "Systems Management", Service_Type: "Infrastructure Event" };
      const response = await fetch(`${fake.url}/api/arsys/v1/entry/HPD:IncidentInterface_Create?fields=values(Incident Number)`, {
        method: "POST",
        headers: { authorization: `AR-JWT ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ values }),
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { values: { "Incident Number": string } }).values["Incident Number"];
    };
    const first = await startBmcHelixFake({ stateFile });
    const before = await create(first, "before");
    await first.close();
    const second = await startBmcHelixFake({ stateFile });
    try {
      expect(second.incidents().map((e) => e["Incident Number"])).toEqual([before]);
      const after = await create(second, "after");
      expect(after).not.toBe(before);
    } finally {
      await second.close();
    }
  });
});
