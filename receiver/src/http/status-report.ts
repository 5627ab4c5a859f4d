/**
 * The receiver's status in one answer (`GET /api/status`, the console's Status page,
 * `secure-export status`): what it runs, its store, each connector's state, the heartbeat, the
 * credentials' expiry and the rules in force, and whether anything of it needs a person. Pure:
 * routes/status.ts gathers the inputs (the store's answers may be missing when it is down).
 */
import { credentialExpiry, type CredentialExpiry, type WatchedCredential } from "../connectors/credential-expiry.ts";
import { refusedSignIn } from "../connectors/http-client.ts";
import { rulesInEffect, type RoutingRules } from "../routing/load-rules.ts";
import type { ConnectorOutcomes } from "../store/delivery-queries.ts";
import type { HeartbeatStatus as StoredHeartbeat } from "../store/heartbeats.ts";

/** What this replica's start-up check of a connector found (outbox/delivery.ts ConnectorCheck), and when. */
export interface ConnectorCheckSeen {
  at: string;
  refused?: { status: 401 | 403; said: string };
}

/**
 * The heartbeat (Azure testing the action group: docs/operations.md#heartbeat) as the status shows
 * it; `{ enabled: false }` when it is off, `known: false` when it is on but its record cannot be read.
 */
export type HeartbeatStatus =
  | { enabled: false }
  | { enabled: true; known: false; detail: string }
  | {
      enabled: true;
      known: true;
      /** When the receiver last asked Azure to test the action group. */
      lastSentAt: string | null;
      /** When Azure's test notification last arrived. */
      lastReceivedAt: string | null;
      /** Why the last request to Azure failed, when it did (a missing role, a wrong App ID URI). */
      lastSendError: string | null;
      /** Azure's verdict on the last test (notificationStatus), in its words. */
      verdict: string | null;
      /** Since when heartbeats are missing, while its alert is fired. */
      missingSince: string | null;
      /** False once heartbeats are missing (the incident is open). */
      healthy: boolean;
    };

/** The store's record of the heartbeat, as the status shows it. */
export function heartbeatForStatus(h: StoredHeartbeat): HeartbeatStatus {
  return { enabled: true, known: true, lastSentAt: h.lastSentAt, lastReceivedAt: h.lastReceivedAt, lastSendError: h.lastSendError, verdict: h.azure?.state ?? null, missingSince: h.missingSince, healthy: h.missingSince === null };
}

export type ConnectorState = "ok" | "failing" | "unauthorized" | "idle" | "unknown";

export interface ConnectorStatus {
  name: string;
  kind: string;
  /** ok: its latest delivery succeeded; failing / unauthorized: its latest failed (401/403, or a refused start-up check: unauthorized); idle: nothing delivered yet; unknown: the store cannot be read. */
  state: ConnectorState;
  /** The state in words. */
  detail: string;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastFailure: string | null;
  queueDepth: number | null;
  deadLetters: number | null;
  /** What the tool said when it refused the credentials (401) or the access (403), while that is its latest word; else null. */
  unauthorized: string | null;
}

export interface StatusReport {
  version: string;
  checkedAt: string;
  /** False when anything below needs a person; `problems` says what. */
  healthy: boolean;
  problems: string[];
  store: { kind: "postgresql" | "embedded"; reachable: boolean; detail: string | null };
  connectors: ConnectorStatus[];
  heartbeat: HeartbeatStatus;
  credentials: { warnDays: number; items: CredentialExpiry[] };
  rules: {
    inEffect: boolean;
    admissionRules: number;
    routes: number;
    maintenanceWindows: number;
    noiseRules: number;
    stormGuards: number;
    /** Null when the store cannot be read. */
    silencesInForce: number | null;
  };
}

export interface StatusInputs {
  version: string;
  store: { kind: "postgresql" | "embedded"; reachable: boolean; detail: string | null };
  connectors: ReadonlyArray<{ name: string; kind: string }>;
  /** Null when the store cannot be read. */
  outcomes: readonly ConnectorOutcomes[] | null;
  /** This replica's start-up checks, by connector: a refusal there counts until a delivery succeeds after it. */
  checks: ReadonlyMap<string, ConnectorCheckSeen>;
  credentials: { watched: readonly WatchedCredential[]; warnDays: number };
  heartbeat: HeartbeatStatus;
  rules: RoutingRules;
  silencesInForce: number | null;
}

const refusedState = (refused: { status: 401 | 403; said: string }, when = "") => ({
  state: "unauthorized" as const,
  detail: `${refused.status === 401 ? "unauthorized" : "forbidden"} (${refused.status})${when}: ${refused.said}, check the credentials`,
  unauthorized: refused.said,
});

function connectorStatus(connector: { name: string; kind: string }, outcomes: readonly ConnectorOutcomes[] | null, check: ConnectorCheckSeen | undefined): ConnectorStatus {
  const base = { name: connector.name, kind: connector.kind };
  if (outcomes === null) {
    return { ...base, state: "unknown", detail: "unknown: the store cannot be read", lastSuccessAt: null, lastFailureAt: null, lastFailure: null, queueDepth: null, deadLetters: null, unauthorized: null };
  }
  const o = outcomes.find((x) => x.connector === connector.name) ?? { pending: 0, dead: 0, lastSuccessAt: null, lastFailureAt: null, lastFailure: null };
  const numbers = { lastSuccessAt: o.lastSuccessAt, lastFailureAt: o.lastFailureAt, lastFailure: o.lastFailure, queueDepth: o.pending, deadLetters: o.dead };
  // The latest word counts: a failure the next delivery overcame is history, not a state.
  const failingNow = o.lastFailureAt !== null && (o.lastSuccessAt === null || o.lastFailureAt > o.lastSuccessAt);
  if (failingNow) {
    const refused = refusedSignIn(o.lastFailure!);
    if (refused) return { ...base, ...numbers, ...refusedState(refused) };
    return { ...base, ...numbers, state: "failing", detail: `failing: ${o.lastFailure}`, unauthorized: null };
  }
  // Before any delivery shows it (a quiet receiver just deployed with a wrong secret), the start-up check does.
  if (check?.refused && (o.lastSuccessAt === null || check.at > o.lastSuccessAt)) return { ...base, ...numbers, ...refusedState(check.refused, " at start-up") };
  if (o.lastSuccessAt === null) return { ...base, ...numbers, state: "idle", detail: "nothing delivered yet", unauthorized: null };
  return { ...base, ...numbers, state: "ok", detail: "delivering", unauthorized: null };
}

export function assembleStatus(inputs: StatusInputs, now: Date): StatusReport {
  const connectors = inputs.connectors.map((c) => connectorStatus(c, inputs.outcomes, inputs.checks.get(c.name)));
  const credentials = inputs.credentials.watched.map((c) => credentialExpiry(c, inputs.credentials.warnDays, now));
  const problems: string[] = [];
  if (!inputs.store.reachable) problems.push(`store: ${inputs.store.detail ?? "unreachable"}`);
  for (const c of connectors) {
    if (c.state === "unauthorized" || c.state === "failing") problems.push(`connector ${c.name}: ${c.detail}`);
    if (c.deadLetters) problems.push(`connector ${c.name}: ${c.deadLetters} dead letter${c.deadLetters === 1 ? "" : "s"} (secure-export deliveries list --status dead)`);
  }
  const heartbeat = inputs.heartbeat;
  if (heartbeat.enabled && heartbeat.known && !heartbeat.healthy) problems.push("heartbeat: missing");
  // With the store unreachable its own line says why; otherwise nobody can tell whether Azure still gets through.
  if (heartbeat.enabled && !heartbeat.known && inputs.store.reachable) problems.push(`heartbeat: unknown (${heartbeat.detail})`);
  for (const c of credentials) {
    if (c.state === "expired") problems.push(`credential: the ${c.credential} of connector ${c.connector} expired on ${c.expiresAt!.slice(0, 10)}`);
    if (c.state === "warning") problems.push(`credential: the ${c.credential} of connector ${c.connector} expires in ${c.daysLeft} days (${c.expiresAt!.slice(0, 10)})`);
  }
  const { rules } = inputs;
  return {
    version: inputs.version,
    checkedAt: now.toISOString(),
    healthy: problems.length === 0,
    problems,
    store: inputs.store,
    connectors,
    heartbeat: inputs.heartbeat,
    credentials: { warnDays: inputs.credentials.warnDays, items: credentials },
    rules: {
      inEffect: rulesInEffect(rules),
      admissionRules: rules.admission?.rules.length ?? 0,
      routes: rules.routes?.length ?? 0,
      maintenanceWindows: rules.maintenance.length,
      noiseRules: rules.noise.length,
      stormGuards: rules.storm.length,
      silencesInForce: inputs.silencesInForce,
    },
  };
}
