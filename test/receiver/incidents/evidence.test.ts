/** Log evidence's pure parts (docs/incidents.md#log-evidence): which link, how many rows are kept, the table a ticket gets. */
import { describe, expect, it } from "vitest";
import { boundRows, EVIDENCE_MAX_BYTES, EVIDENCE_MAX_ROWS, evidenceLink, evidenceText } from "../../../receiver/src/incidents/evidence.ts";
import { incidentDescription, updateText } from "../../../receiver/src/connectors/incident-text.ts";
import { correlationKey, type IncidentSnapshot } from "../../../receiver/src/outbox/delivery.ts";
import { fixture } from "../../support/fixtures.ts";

const COLUMNS = [
  { name: "Computer", type: "string" },
  { name: "Count", type: "long" },
];

describe("the link", () => {
  it("is the filtered link of Microsoft's log search alert V2 sample (this alert's dimensions), else the unfiltered one", () => {
    const payload = fixture("logalertsv2-fired.json");
    expect(evidenceLink(payload)).toBe(payload.data.alertContext.condition.allOf[0].linkToFilteredSearchResultsAPI);
    delete payload.data.alertContext.condition.allOf[0].linkToFilteredSearchResultsAPI;
    expect(evidenceLink(payload)).toBe(payload.data.alertContext.condition.allOf[0].linkToSearchResultsAPI);
  });

  it("is null for an alert without one (a metric alert, a malformed context)", () => {
    expect(evidenceLink(fixture("metric-static-fired.json"))).toBeNull();
    expect(evidenceLink({ data: { alertContext: { condition: { allOf: "x" } } } })).toBeNull();
    expect(evidenceLink(null)).toBeNull();
  });
});

describe("the rows kept", () => {
  it("are at most 50, and say the query found more", () => {
    const rows = Array.from({ length: 51 }, (_, i) => [`vm-${i}`, i]);
    const table = boundRows(COLUMNS, rows, "api.loganalytics.io");
    expect(table.rows).toHaveLength(EVIDENCE_MAX_ROWS);
    expect(table.rows.at(-1)).toEqual(["vm-49", 49]);
    expect(table.truncated).toBe(true);
    expect(boundRows(COLUMNS, rows.slice(0, 50), "h").truncated).toBe(false);
  });

  it("are at most 64 KB: whole rows, the first ones", () => {
    const big = "x".repeat(10_000);
    const table = boundRows(COLUMNS, Array.from({ length: 10 }, (_, i) => [big, i]), "h");
    expect(table.rows).toHaveLength(6);
    expect(Buffer.byteLength(JSON.stringify(table.rows))).toBeLessThanOrEqual(EVIDENCE_MAX_BYTES);
    expect(table.truncated).toBe(true);
  });
});

describe("the table a ticket gets", () => {
  it("is aligned plain text, headed by how many rows and from where", () => {
    const text = evidenceText({ source: "api.loganalytics.io", columns: COLUMNS, rows: [["vm-1", 3], ["web-server-02", null]], truncated: false });
    expect(text).toBe(
      ["Log search results (2 rows, from api.loganalytics.io):", "Computer      | Count", "------------- | -----", "vm-1          | 3", "web-server-02 |"].join("\n"),
    );
  });

  it("keeps one line per row, cuts long cells, shows objects as JSON and says what was left out", () => {
    const columns = Array.from({ length: 14 }, (_, i) => ({ name: `c${i}`, type: "string" }));
    const row = ["line one\nline two\ttab", "y".repeat(100), { a: 1 }, ...Array.from({ length: 11 }, () => "")];
    const text = evidenceText({ source: "api.loganalytics.io", columns, rows: [row], truncated: true });
    const lines = text.split("\n");
    expect(lines[0]).toBe("Log search results (the first 1 row; the query found more, from api.loganalytics.io); 2 more columns not shown:");
    expect(lines).toHaveLength(4);
    expect(lines[3]).toContain("line one line two tab");
    expect(lines[3]).toContain(`${"y".repeat(39)}…`);
    expect(lines[3]).toContain('{"a":1}');
    expect(lines[1]!.split("|")).toHaveLength(12);
  });

  it("says so when the query found nothing", () => {
    expect(evidenceText({ source: "api.loganalytics.io", columns: COLUMNS, rows: [], truncated: false })).toBe("Log search results (0 rows, from api.loganalytics.io):\n(no rows)");
  });
});

describe("in the ticket's words", () => {
  const table = { source: "api.loganalytics.io", columns: COLUMNS, rows: [["vm-1", 3]], truncated: false };
  const snapshot: IncidentSnapshot = {
    incidentId: "i", alertId: "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/1", correlationKey: correlationKey("x"), title: "heartbeat missing",
    description: "log alert rule V2", severity: "Sev2", monitoringService: "Log Alerts V2", signalType: "Log", alertRule: "hb", firedAt: "2026-11-01T10:00:00.000Z",
    resolvedAt: null, resolution: null, resources: [], unboundCis: [], resourceCount: 0, unboundCount: 0, fields: {}, note: null,
  };

  it("ends the description, after the alert's own words, so a field's limit cuts only rows", () => {
    const text = incidentDescription({ ...snapshot, evidence: table }, 4000);
    expect(text.endsWith(`log alert rule V2\n\n${evidenceText(table)}`)).toBe(true);
    expect(incidentDescription({ ...snapshot, evidence: { ...table, rows: Array.from({ length: 50 }, (_, i) => [`vm-${i}`, i]) } }, 600)).toMatch(/^Azure Monitor alert: heartbeat missing\n[\s\S]*Log search results \(50 rows[\s\S]*…$/);
    expect(incidentDescription(snapshot, 4000)).not.toContain("Log search results");
  });

  it("is the whole update (work note, work log) when they came late", () => {
    expect(updateText({ ...snapshot, evidence: table }, 4000)).toBe(evidenceText(table));
    // A problem's update says what changed, whatever rows its snapshot carries.
    expect(updateText({ ...snapshot, note: "2 more alerts joined", evidence: table }, 4000)).toBe("2 more alerts joined");
  });
});
