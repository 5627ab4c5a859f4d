/** What `GET /api/status` says from what it gathered (http/status-report.ts): pure, no store. */
import { describe, expect, it } from "vitest";
import { assembleStatus, heartbeatForStatus, type StatusInputs } from "../../../receiver/src/http/status-report.ts";
import { noRoutingRules } from "../../../receiver/src/routing/load-rules.ts";
import type { ConnectorOutcomes } from "../../../receiver/src/store/delivery-queries.ts";

const now = new Date("2026-12-06T12:00:00Z");
const outcome = (o: Partial<ConnectorOutcomes>): ConnectorOutcomes => ({ connector: "default", pending: 0, dead: 0, lastSuccessAt: null, lastFailureAt: null, lastFailure: null, ...o });

function inputs(overrides: Partial<StatusInputs> = {}): StatusInputs {
  return {
    version: "1.2.3",
    store: { kind: "postgresql", reachable: true, detail: null },
    connectors: [{ name: "default", kind: "servicenow" }],
    outcomes: [],
    checks: new Map(),
    credentials: { watched: [], warnDays: 14 },
    heartbeat: { enabled: false },
    rules: noRoutingRules([]),
    silencesInForce: 0,
    ...overrides,
  };
}

describe("assembleStatus", () => {
  it("is healthy with a connector that delivers, and shows its numbers", () => {
    const status = assembleStatus(inputs({ outcomes: [outcome({ pending: 2, lastSuccessAt: "2026-12-06T11:00:00.000Z", lastFailureAt: "2026-12-06T10:00:00.000Z", lastFailure: "POST /api/now/table/incident answered 503: busy" })] }), now);
    expect(status).toMatchObject({ version: "1.2.3", healthy: true, problems: [], checkedAt: now.toISOString(), heartbeat: { enabled: false } });
    expect(status.connectors).toEqual([
      { name: "default", kind: "servicenow", state: "ok", detail: "delivering", lastSuccessAt: "2026-12-06T11:00:00.000Z", lastFailureAt: "2026-12-06T10:00:00.000Z", lastFailure: "POST /api/now/table/incident answered 503: busy", queueDepth: 2, deadLetters: 0, unauthorized: null },
    ]);
  });

  it("says unauthorized, with what the tool said, when the latest word is a 401", () => {
    const lastFailure = "ServiceNow OAuth token endpoint answered 401: access_denied access_denied";
    const status = assembleStatus(inputs({ outcomes: [outcome({ lastSuccessAt: "2026-12-06T10:00:00.000Z", lastFailureAt: "2026-12-06T11:00:00.000Z", lastFailure })] }), now);
    expect(status.connectors[0]).toMatchObject({ state: "unauthorized", unauthorized: "access_denied access_denied", detail: "unauthorized (401): access_denied access_denied, check the credentials" });
    expect(status.healthy).toBe(false);
    expect(status.problems).toEqual(["connector default: unauthorized (401): access_denied access_denied, check the credentials"]);
  });

  it("says unauthorized for a 403 too: the credentials are accepted but may not do this", () => {
    const lastFailure = "BMC Helix incident create answered 403: 623 Authentication failed";
    const status = assembleStatus(inputs({ outcomes: [outcome({ lastFailureAt: "2026-12-06T11:00:00.000Z", lastFailure })] }), now);
    expect(status.connectors[0]).toMatchObject({ state: "unauthorized", detail: "forbidden (403): 623 Authentication failed, check the credentials" });
  });

  it("says unauthorized from the start-up check until a delivery succeeds after it", () => {
    const checks = new Map([["default", { at: "2026-12-06T11:00:00.000Z", refused: { status: 401 as const, said: "User Not Authenticated" } }]]);
    expect(assembleStatus(inputs({ checks }), now).connectors[0]).toMatchObject({ state: "unauthorized", detail: "unauthorized (401) at start-up: User Not Authenticated, check the credentials" });
    const since = assembleStatus(inputs({ checks, outcomes: [outcome({ lastSuccessAt: "2026-12-06T11:30:00.000Z" })] }), now);
    expect(since.connectors[0]).toMatchObject({ state: "ok" });
    const ok = new Map([["default", { at: "2026-12-06T11:00:00.000Z" }]]);
    expect(assembleStatus(inputs({ checks: ok }), now).connectors[0]).toMatchObject({ state: "idle" });
  });

  it("says failing for any other latest failure, and counts dead letters as a problem", () => {
    const status = assembleStatus(inputs({ outcomes: [outcome({ dead: 3, lastFailureAt: "2026-12-06T11:00:00.000Z", lastFailure: "POST /api/now/table/incident: connection refused" })] }), now);
    expect(status.connectors[0]).toMatchObject({ state: "failing", deadLetters: 3, unauthorized: null });
    expect(status.problems).toEqual(["connector default: failing: POST /api/now/table/incident: connection refused", "connector default: 3 dead letters (secure-export deliveries list --status dead)"]);
  });

  it("is idle before anything was delivered, and unknown when the store cannot be read", () => {
    expect(assembleStatus(inputs(), now).connectors[0]).toMatchObject({ state: "idle", queueDepth: 0 });
    const down = assembleStatus(inputs({ store: { kind: "postgresql", reachable: false, detail: "connection refused" }, outcomes: null, silencesInForce: null }), now);
    expect(down.connectors[0]).toMatchObject({ state: "unknown", queueDepth: null, deadLetters: null });
    expect(down.rules.silencesInForce).toBeNull();
    expect(down.problems).toEqual(["store: connection refused"]);
  });

  it("lists each credential's days left and state; one in the window or expired is a problem", () => {
    const watched = [
      { connector: "default", credential: "client secret", expiresAt: "2026-12-16T12:00:00.000Z" },
      { connector: "helix", credential: "password", expiresAt: "2026-12-01T00:00:00.000Z" },
      { connector: "other", credential: "password", expiresAt: "2027-12-01T00:00:00.000Z" },
      { connector: "unwatched", credential: "password", expiresAt: null },
    ];
    const status = assembleStatus(inputs({ credentials: { watched, warnDays: 14 } }), now);
    expect(status.credentials.items.map((c) => [c.connector, c.state, c.daysLeft])).toEqual([["default", "warning", 10], ["helix", "expired", -6], ["other", "ok", 359], ["unwatched", "unknown", null]]);
    expect(status.problems).toEqual(["credential: the client secret of connector default expires in 10 days (2026-12-16)", "credential: the password of connector helix expired on 2026-12-01"]);
  });

  it("counts the rules in force", () => {
    const rules = {
      ...noRoutingRules([]),
      admission: { default: "refuse", rules: [{}, {}] } as never,
      routes: [{}, {}, {}] as never,
      maintenance: [{}] as never,
      storm: [{}] as never,
    };
    expect(assembleStatus(inputs({ rules, silencesInForce: 4 }), now).rules).toEqual({ inEffect: true, admissionRules: 2, routes: 3, maintenanceWindows: 1, noiseRules: 0, stormGuards: 1, silencesInForce: 4 });
    expect(assembleStatus(inputs(), now).rules.inEffect).toBe(false);
  });

  it("reports a missing heartbeat", () => {
    const status = assembleStatus(inputs({ heartbeat: { enabled: true, known: true, lastSentAt: null, lastReceivedAt: null, lastSendError: "403 AuthorizationFailed", verdict: null, missingSince: "2026-12-06T10:00:00.000Z", healthy: false } }), now);
    expect(status.problems).toEqual(["heartbeat: missing"]);
  });

  it("says the heartbeat is unknown, not off and not missing, when its record cannot be read", () => {
    const unknown = { enabled: true as const, known: false as const, detail: "canceling statement due to statement timeout" };
    expect(assembleStatus(inputs({ heartbeat: unknown }), now)).toMatchObject({ healthy: false, problems: ["heartbeat: unknown (canceling statement due to statement timeout)"], heartbeat: unknown });
    // The store's own line says why when the store is down: one problem, not two.
    const down = assembleStatus(inputs({ heartbeat: { ...unknown, detail: "the store cannot be read" }, store: { kind: "postgresql", reachable: false, detail: "connect ECONNREFUSED" }, outcomes: null }), now);
    expect(down.problems).toEqual(["store: connect ECONNREFUSED"]);
  });

  it("reads the heartbeat's health from the store's record: missing while its alert is fired", () => {
    const stored = { lastSentAt: "2026-12-06T11:45:00.000Z", lastSendError: null, lastReceivedAt: null, azure: { state: "Completed", detail: null, checkedAt: "2026-12-06T11:46:00.000Z", sentAt: "2026-12-06T11:45:00.000Z" }, missingSince: null };
    expect(heartbeatForStatus(stored)).toEqual({ enabled: true, known: true, lastSentAt: "2026-12-06T11:45:00.000Z", lastReceivedAt: null, lastSendError: null, verdict: "Completed", missingSince: null, healthy: true });
    expect(heartbeatForStatus({ ...stored, missingSince: "2026-12-06T11:15:00.000Z" })).toMatchObject({ healthy: false, missingSince: "2026-12-06T11:15:00.000Z" });
  });
});
