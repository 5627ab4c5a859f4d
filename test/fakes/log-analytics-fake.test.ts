/** The Log Analytics stand-in refuses what the published query API spec (and its documented limits) refuse, so a client that cuts corners fails against it. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLogAnalyticsFake, type LogAnalyticsFake } from "./log-analytics-fake.ts";

const WS = "/v1/workspaces/dddd3333-ee44-5555-66ff-777777aaaaaa/query";
const TOKEN = "Bearer token-1-for-https://api.loganalytics.io";

describe("Log Analytics fake", () => {
  let la: LogAnalyticsFake;
  beforeAll(async () => {
    la = await startLogAnalyticsFake();
  });
  afterAll(async () => {
    await la.close();
  });
  const call = async (path: string, init: { method?: string; token?: string | null } = {}) => {
    const response = await fetch(`${la.url}${path}`, { method: init.method ?? "GET", headers: init.token === null ? {} : { authorization: init.token ?? TOKEN } });
    return { status: response.status, body: await response.json() };
  };

  it("answers Query_Get and Query_ResourceGet with the spec's queryResults, honouring a trailing take", async () => {
    expect(await call(`${WS}?query=${encodeURIComponent("Heartbeat\n| take 1")}&timespan=PT1H`)).toEqual({
      status: 200,
      body: { tables: [{ name: "PrimaryResult", columns: la.answer.columns, rows: la.answer.rows.slice(0, 1) }] },
    });
    expect((await call("/v1/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/query?query=Heartbeat")).status).toBe(200);
  });

  it.each([
    ["no query", `${WS}?timespan=PT1H`, 400, "BadArgumentError"],
    ["an undeclared parameter", `${WS}?query=Heartbeat&workspaces=x`, 400, "BadArgumentError"],
    ["a timespan that is no ISO 8601 period or interval", `${WS}?query=Heartbeat&timespan=yesterday`, 400, "BadArgumentError"],
    ["a path without the /v1 base", "/workspaces/w/query?query=Heartbeat", 404, "PathNotFoundError"],
    ["another operation (metadata, not kept)", "/v1/workspaces/w/metadata", 404, "PathNotFoundError"],
  ])("refuses %s", async (_, path, status, code) => {
    expect(await call(path)).toMatchObject({ status, body: { error: { code, message: expect.any(String) } } });
  });

  it("refuses POST (not in the kept spec), no token, and a token for another audience", async () => {
    expect((await call(`${WS}?query=Heartbeat`, { method: "POST" })).status).toBe(404);
    expect(await call(`${WS}?query=Heartbeat`, { token: null })).toMatchObject({ status: 401, body: { error: { code: "AuthorizationRequiredError" } } });
    expect(await call(`${WS}?query=Heartbeat`, { token: "Bearer token-1-for-https://management.azure.com" })).toMatchObject({ status: 401, body: { error: { code: "InvalidAuthenticationTokenAudience" } } });
  });

  it("applies the requests-per-window limit with 429 and Retry-After", async () => {
    const small = await startLogAnalyticsFake({ requestsPerWindow: 2, windowMs: 60_000 });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${small.url}${WS}?query=Heartbeat`, { headers: { authorization: TOKEN } });
        statuses.push(response.status);
        retryAfter = response.headers.get("retry-after");
        await response.body?.cancel();
      }
      expect(statuses).toEqual([200, 200, 429]);
      expect(Number(retryAfter)).toBeGreaterThan(50);
    } finally {
      await small.close();
    }
  });
});
