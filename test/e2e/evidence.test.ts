/**
 * Log evidence end to end, on both stores (docs/incidents.md#log-evidence): a log search alert V2
 * (Microsoft's sample payload, its links pointed at the Log Analytics stand-in) → its rows fetched
 * with the managed identity's token → in the ServiceNow and BMC Helix tickets' descriptions, or in one
 * work note / work log when they come after EVIDENCE_WAIT. A link to any other host is never called, and the refusal is in the
 * timeline and the metrics. Two replicas on one store fetch each incident's rows once.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startBmcHelixFake, type BmcHelixFake } from "../fakes/bmc-helix-fake.ts";
import { startLogAnalyticsFake, type LogAnalyticsFake } from "../fakes/log-analytics-fake.ts";
import { startManagedIdentityFake, type ManagedIdentityFake } from "../fakes/managed-identity-fake.ts";
import { startServiceNowFake, type ServiceNowFake } from "../fakes/servicenow-fake.ts";
import { operatorClient } from "../support/api.ts";
import { eventually } from "../support/eventually.ts";
import { fixture } from "../support/fixtures.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";

const WORKSPACE = "dddd3333-ee44-5555-66ff-777777aaaaaa";
const TIMESPAN = "2021-11-16T10%3a17%3a39.0000000Z%2f2021-11-16T11%3a17%3a39.0000000Z";
let counter = 0;

describe.each(STORE_KINDS)("log evidence on $name", (kind) => {
  let store: OpenStore;
  let serviceNow: ServiceNowFake;
  let helix: BmcHelixFake;
  let la: LogAnalyticsFake;
  let identity: ManagedIdentityFake;
  let elsewhere: { url: string; hits: number; close(): Promise<void> };
  let stack: TestStack;
  let replica: TestStack;
  let api: ReturnType<typeof operatorClient>;

  beforeAll(async () => {
    store = await kind.open();
    [serviceNow, helix, la, identity] = await Promise.all([startServiceNowFake(), startBmcHelixFake(), startLogAnalyticsFake(), startManagedIdentityFake()]);
    const server = createServer((_, res) => {
      elsewhere.hits++;
      res.end('{"tables":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    elsewhere = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: 0, close: () => new Promise((resolve) => server.close(() => resolve())) };
    const env = {
      OUTBOX_POLL_MS: "20",
      OUTBOX_RETRY_BASE_SECONDS: "0",
      SERVICENOW_URL: serviceNow.url,
      SERVICENOW_USERNAME: serviceNow.username,
      SERVICENOW_PASSWORD: serviceNow.password,
      BMC_HELIX_URL: helix.url,
      BMC_HELIX_USERNAME: helix.username,
      BMC_HELIX_PASSWORD: helix.password,
      BMC_HELIX_FIRST_NAME: "Azure",
      BMC_HELIX_LAST_NAME: "Monitor",
      AZURE_CLIENT_ID: identity.clientId,
      IDENTITY_ENDPOINT: identity.identityEndpoint,
      IDENTITY_HEADER: identity.identityHeader,
      // On by default with an identity; said here so the test reads as the configuration it needs.
      LOG_EVIDENCE: "on",
      LOG_ANALYTICS_ENDPOINT: la.url,
      // EVIDENCE_WAIT: its default, 5 s.
    };
    stack = await startTestStack({ db: store.db, env });
    replica = await startTestStack({ db: store.db, env });
    api = operatorClient(stack.issuer, stack.receiver.url);
  });
  afterAll(async () => {
    await replica?.close();
    await stack?.close();
    await Promise.all([serviceNow?.close(), helix?.close(), la?.close(), identity?.close(), elsewhere?.close()]);
    await store?.close();
  });
  beforeEach(() => la.throttleNext(0, 0));

  /** Microsoft's log search alert V2 sample, a fresh alert, its links to `base` with a query of its own. */
  function logAlert(base = la.url): { payload: any; alertId: string; query: string } {
    counter += 1;
    const payload = fixture("logalertsv2-fired.json");
    const alertId = `/subscriptions/12345a-1234b-123c-123d-12345678e/providers/Microsoft.AlertsManagement/alerts/evidence-${kind.name}-${counter}`;
    payload.data.essentials.alertId = alertId;
    const query = `Heartbeat | where Computer == 'vm-${kind.name}-${counter}'`;
    const link = `${base}/v1/workspaces/${WORKSPACE}/query?query=${encodeURIComponent(query)}&timespan=${TIMESPAN}`;
    Object.assign(payload.data.alertContext.condition.allOf[0], { linkToSearchResultsAPI: link, linkToFilteredSearchResultsAPI: link });
    return { payload, alertId, query };
  }
  /** Both tools' tickets, once both opens are delivered. */
  const ticketOf = (alertId: string) =>
    eventually(async () => {
      const incident = await api.incidentFor(alertId);
      const opens = (incident?.deliveries ?? []).filter((d: any) => d.action === "open" && d.status === "delivered");
      const row = serviceNow.incidents().find((r) => opens.some((d: any) => d.externalId === r.sys_id));
      const helixRow = helix.incidents().find((v) => String(v.Detailed_Decription ?? "").includes(alertId));
      return opens.length === 2 && row && helixRow ? { incident, row, sysId: String(row.sys_id), helixRow, helixNumber: String(helixRow["Incident Number"]) } : null;
    }, "both tickets to be created");
  const fetchesOf = (query: string) => la.requests.filter((r) => r.query.query?.startsWith(query));

  it("puts the rows in the ServiceNow and BMC Helix descriptions when they come in time, fetched once with a Log Analytics token", async () => {
    const { payload, alertId, query } = logAlert();
    const posted = Date.now();
    expect((await stack.postAlert(payload)).status).toBe(202);
    const { incident, row, sysId, helixRow } = await ticketOf(alertId);
    expect(row.description).toContain(
      ["Log search results (2 rows, from " + new URL(la.url).host + "):", "TimeGenerated        | Computer | CounterValue", "-------------------- | -------- | ------------", "2026-11-01T09:58:00Z | vm-1     | 97.5"].join("\n"),
    );
    // It did not wait out EVIDENCE_WAIT: the rows were there first.
    expect(Date.now() - posted).toBeLessThan(5000);
    expect(serviceNow.workNotes(sysId)).toEqual([]);
    expect(String(helixRow.Detailed_Decription)).toContain(`Log search results (2 rows, from ${new URL(la.url).host}):\nTimeGenerated`);
    expect(incident.timeline).toContainEqual(expect.objectContaining({ type: "evidence_added", detail: { rows: 2, truncated: false, source: new URL(la.url).host } }));
    expect(incident.evidence).toEqual({ state: "stored", host: new URL(la.url).host, reason: null, columns: la.answer.columns, rows: la.answer.rows, truncated: false, updatedAt: expect.any(String) });
    // Two replicas, one fetch; the token the stand-in accepted was the identity's, for the Log Analytics API.
    expect(fetchesOf(query)).toEqual([expect.objectContaining({ operationId: "Query_Get", status: 200 })]);
    expect(identity.requests.some((r) => r.query.resource === "https://api.loganalytics.io" && r.query.client_id === identity.clientId)).toBe(true);
  });

  it("adds rows that come after EVIDENCE_WAIT as one work note and one work log (a 429 made them late)", async () => {
    la.throttleNext(1, 9);
    const { payload, alertId, query } = logAlert();
    expect((await stack.postAlert(payload)).status).toBe(202);
    const { row, sysId, helixRow, helixNumber } = await ticketOf(alertId);
    expect(row.description).not.toContain("Log search results");
    expect(String(helixRow.Detailed_Decription)).not.toContain("Log search results");
    const notes = await eventually(() => (serviceNow.workNotes(sysId).length > 0 ? serviceNow.workNotes(sysId) : null), "the work note", 20_000);
    expect(notes).toEqual([expect.stringMatching(/^Log search results \(2 rows, from .*\):\nTimeGenerated/)]);
    const logs = await eventually(() => helix.workLogs(helixNumber).length > 0 && helix.workLogs(helixNumber), "the work log", 20_000);
    expect(logs.map((l) => l["Detailed Description"])).toEqual([expect.stringMatching(/^Log search results \(2 rows, from .*\):\nTimeGenerated/)]);
    expect(fetchesOf(query).map((r) => r.status)).toEqual([429, 200]);
  });

  it("never calls a link to another host, records the refusal, and creates the ticket without waiting", async () => {
    const { payload, alertId } = logAlert(elsewhere.url);
    const posted = Date.now();
    expect((await stack.postAlert(payload)).status).toBe(202);
    const { incident, row } = await ticketOf(alertId);
    expect(Date.now() - posted).toBeLessThan(5000);
    expect(elsewhere.hits).toBe(0);
    expect(row.description).not.toContain("Log search results");
    const refused = incident.timeline.find((e: any) => e.type === "evidence_refused");
    expect(refused).toMatchObject({ detail: { host: new URL(elsewhere.url).host, reason: expect.stringContaining("is not the Log Analytics API") } });
    expect(incident.evidence).toMatchObject({ state: "refused", host: new URL(elsewhere.url).host, rows: [] });
    expect(refused.summary).toMatch(/^log search results not fetched: the link's host 127\.0\.0\.1:\d+ is not the Log Analytics API/);
    // Whichever replica claimed it counted it.
    const metrics = await Promise.all([stack, replica].map(async (s) => (await fetch(`${s.receiver.metricsUrl}/metrics`)).text()));
    expect(metrics.join("\n")).toMatch(/secure_export_log_evidence_total\{outcome="refused"\} 1/);
  });

  it("keeps 50 rows of a larger answer and says the query found more", async () => {
    const saved = la.answer.rows;
    la.answer.rows = Array.from({ length: 300 }, (_, i) => ["2026-11-01T09:58:00Z", `vm-${i}`, i]);
    try {
      const { payload, alertId } = logAlert();
      expect((await stack.postAlert(payload)).status).toBe(202);
      const { incident, row } = await ticketOf(alertId);
      expect(row.description).toContain("Log search results (the first 50 rows; the query found more, from");
      expect(incident.timeline).toContainEqual(expect.objectContaining({ type: "evidence_added", detail: expect.objectContaining({ rows: 50, truncated: true }) }));
      const stored = await store.db.query<{ rows: number }>("SELECT jsonb_array_length(result->'rows') AS rows FROM incident_evidence WHERE incident_id = $1::uuid", [incident.id]);
      expect(Number(stored.rows[0]!.rows)).toBe(50);
    } finally {
      la.answer.rows = saved;
    }
  });
});
