/**
 * The Log Analytics client (docs/incidents.md#log-evidence): which links from a payload it may call
 * (pure), and its calls against the stand-in that applies the published query API spec.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkEvidenceLink, logAnalyticsClient } from "../../../receiver/src/azure/log-analytics.ts";
import { startLogAnalyticsFake, type LogAnalyticsFake } from "../../fakes/log-analytics-fake.ts";
import { fixture } from "../../support/fixtures.ts";

const PUBLIC = "https://api.loganalytics.io";
const WORKSPACE = "dddd3333-ee44-5555-66ff-777777aaaaaa";
const QUERY = "?query=Heartbeat&timespan=2021-11-16T10%3a17%3a39.0000000Z%2f2021-11-16T11%3a17%3a39.0000000Z";

describe("which links may be called", () => {
  it("accepts Microsoft's sample links, workspace and resource-centric, on the configured endpoint", () => {
    const sample = fixture("logalertsv2-fired.json").data.alertContext.condition.allOf[0];
    expect(checkEvidenceLink(sample.linkToFilteredSearchResultsAPI, PUBLIC)).toMatchObject({ ok: true });
    expect(checkEvidenceLink(`${PUBLIC}/v1/workspaces/${WORKSPACE}/query${QUERY}`, PUBLIC)).toMatchObject({ ok: true });
    // The default port written out is the same origin.
    expect(checkEvidenceLink(`https://API.loganalytics.io:443/v1/workspaces/${WORKSPACE}/query${QUERY}`, PUBLIC)).toMatchObject({ ok: true });
  });

  it.each([
    ["another host", `https://evil.example/v1/workspaces/${WORKSPACE}/query${QUERY}`, /host evil\.example is not the Log Analytics API api\.loganalytics\.io/],
    ["a look-alike host", `https://api.loganalytics.io.evil.example/v1/workspaces/${WORKSPACE}/query${QUERY}`, /host/],
    ["the Application Insights API (another token audience)", `https://api.applicationinsights.io/v1/apps/${WORKSPACE}/query${QUERY}`, /host/],
    ["another port", `https://api.loganalytics.io:8443/v1/workspaces/${WORKSPACE}/query${QUERY}`, /host api\.loganalytics\.io:8443/],
    ["plain http", `http://api.loganalytics.io/v1/workspaces/${WORKSPACE}/query${QUERY}`, /uses http, not https/],
    ["user info", `https://me:pw@api.loganalytics.io/v1/workspaces/${WORKSPACE}/query${QUERY}`, /user info/],
    ["user info hiding another host", `https://api.loganalytics.io@evil.example/v1/workspaces/${WORKSPACE}/query${QUERY}`, /user info/],
    ["another API of the host", `${PUBLIC}/v1/workspaces/${WORKSPACE}/metadata`, /not a query/],
    ["no query", `${PUBLIC}/v1/workspaces/${WORKSPACE}/query`, /no query/],
    ["not a URL", "javascript:alert(1)", /uses javascript/],
    ["garbage", "::::", /not a URL/],
  ])("refuses %s", (_, link, reason) => {
    const check = checkEvidenceLink(link, PUBLIC);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toMatch(reason);
  });

  it("allows plain http only when the endpoint is on loopback (a test's stand-in)", () => {
    expect(checkEvidenceLink(`http://127.0.0.1:4000/v1/workspaces/${WORKSPACE}/query${QUERY}`, "http://127.0.0.1:4000")).toMatchObject({ ok: true });
    expect(checkEvidenceLink(`http://127.0.0.1:4001/v1/workspaces/${WORKSPACE}/query${QUERY}`, "http://127.0.0.1:4000")).toMatchObject({ ok: false });
    expect(checkEvidenceLink(`http://la.internal/v1/workspaces/${WORKSPACE}/query${QUERY}`, "http://la.internal")).toMatchObject({ ok: false });
  });
});

describe("fetching the rows", () => {
  let la: LogAnalyticsFake;
  let elsewhere: { url: string; hits: number; close(): Promise<void> };
  const waits: number[] = [];
  const client = () =>
    logAnalyticsClient({ endpoint: la.url, token: async () => "token-1-for-https://api.loganalytics.io", sleep: async (ms) => void waits.push(ms) });
  const link = (base = la.url) => `${base}/v1/workspaces/${WORKSPACE}/query${QUERY}`;

  beforeAll(async () => {
    la = await startLogAnalyticsFake();
    const server = createServer((_, res) => {
      elsewhere.hits++;
      res.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    elsewhere = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: 0, close: () => new Promise((resolve) => server.close(() => resolve())) };
  });
  afterAll(async () => {
    await la?.close();
    await elsewhere?.close();
  });
  beforeEach(() => {
    la.requests.length = 0;
    waits.length = 0;
    la.throttleNext(0, 0);
  });

  it("GETs the link as the spec's Query_Get, with `| take 51` added, and keeps the table", async () => {
    const outcome = await client().evidence(link());
    expect(outcome).toEqual({ state: "stored", table: { source: new URL(la.url).host, columns: la.answer.columns, rows: la.answer.rows, truncated: false } });
    expect(la.requests).toEqual([expect.objectContaining({ operationId: "Query_Get", status: 200, query: { query: "Heartbeat\n| take 51", timespan: "2021-11-16T10:17:39.0000000Z/2021-11-16T11:17:39.0000000Z" } })]);
  });

  it("reads a resource-centric link as Query_ResourceGet", async () => {
    const outcome = await client().evidence(`${la.url}/v1/subscriptions/s/resourceGroups/TEST/providers/Microsoft.Compute/virtualMachines/testvm/query?query=Heartbeat`);
    expect(outcome.state).toBe("stored");
    expect(la.requests[0]).toMatchObject({ operationId: "Query_ResourceGet", status: 200 });
  });

  it("never calls a link to another host, even one a port away on the same machine", async () => {
    const outcome = await client().evidence(link(elsewhere.url));
    expect(outcome).toMatchObject({ state: "refused", reason: expect.stringContaining(`host ${new URL(elsewhere.url).host} is not the Log Analytics API`) });
    expect(elsewhere.hits).toBe(0);
    expect(la.requests).toEqual([]);
  });

  it("waits a 429's Retry-After and tries again", async () => {
    la.throttleNext(1, 3);
    const outcome = await client().evidence(link());
    expect(outcome.state).toBe("stored");
    expect(waits).toEqual([3000]);
    expect(la.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it("gives up after three 429s, saying so", async () => {
    la.throttleNext(5, 1);
    expect(await client().evidence(link())).toEqual({ state: "failed", reason: "the Log Analytics API answered 429 (throttled) 3 times" });
    expect(la.requests).toHaveLength(3);
  });

  it("keeps itself under the API's requests per window", async () => {
    let clock = 0;
    const limited = logAnalyticsClient({ endpoint: la.url, token: async () => "token-1-for-https://api.loganalytics.io", requestsPerWindow: 2, windowMs: 30_000, now: () => clock, sleep: async (ms) => void (waits.push(ms), (clock += ms)) });
    for (let i = 0; i < 3; i++) expect((await limited.evidence(link())).state).toBe("stored");
    expect(waits).toEqual([30_000]);
  });

  it("keeps 50 rows of a larger answer and says the query found more", async () => {
    const saved = la.answer.rows;
    la.answer.rows = Array.from({ length: 500 }, (_, i) => ["2026-11-01T09:58:00Z", `vm-${i}`, i]);
    try {
      const outcome = await client().evidence(link());
      expect(outcome.state === "stored" && outcome.table.rows.length).toBe(50);
      expect(outcome.state === "stored" && outcome.table.truncated).toBe(true);
    } finally {
      la.answer.rows = saved;
    }
  });

  it("records the API's refusal (a token for another audience) as a failure", async () => {
    const wrong = logAnalyticsClient({ endpoint: la.url, token: async () => "token-1-for-https://management.azure.com" });
    expect(await wrong.evidence(link())).toEqual({ state: "failed", reason: "the Log Analytics API answered 401 InvalidAuthenticationTokenAudience: The provided authentication is not valid for this resource." });
  });

  it("records a missing token as a failure, calling nothing", async () => {
    const none = logAnalyticsClient({ endpoint: la.url, token: async () => Promise.reject(new Error("no Log Analytics token: the identity endpoint is unreachable")) });
    expect(await none.evidence(link())).toEqual({ state: "failed", reason: "no Log Analytics token: the identity endpoint is unreachable" });
    expect(la.requests).toEqual([]);
  });
});
