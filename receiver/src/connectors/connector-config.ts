/**
 * ITSM connector and outbox configuration, from the environment. A connector is on when its URL
 * is set. Secrets may come from files: SERVICENOW_PASSWORD_FILE instead of SERVICENOW_PASSWORD.
 */
import type { Severity } from "../alerts/schema.ts";
import { ConfigError, httpUrl, integer, optional, text, type Env } from "../env.ts";
import type { OutboxConfig } from "../outbox/retry-policy.ts";

export type { OutboxConfig };

export type SeverityKey = Severity | "none";
export type SeverityMap = Readonly<Record<SeverityKey, string>>;

export interface ServiceNowConfig {
  kind: "servicenow";
  url: string;
  mode: "table" | "event";
  auth: { type: "basic"; username: string; password: string } | { type: "oauth"; clientId: string; clientSecret: string };
  ciTable: string;
  urgency: SeverityMap;
  impact: SeverityMap;
  closeCode: string;
  closeNotes: string;
  assignmentGroup: string | undefined;
  callerId: string | undefined;
  category: string | undefined;
  eventSource: string;
}

export interface BmcHelixConfig {
  kind: "bmc-helix";
  url: string;
  username: string;
  password: string;
  firstName: string;
  lastName: string;
  impact: SeverityMap;
  urgency: SeverityMap;
  serviceType: string;
  reportedSource: string;
  status: string;
  statusReason: string;
  resolution: string;
  /** Field that receives the CI's name. */
  ciField: string;
  /** Field that holds our stable correlation key, so a retried create finds the incident it made. */
  correlationField: string;
  extraValues: Readonly<Record<string, string>>;
}

export type ConnectorConfig = ServiceNowConfig | BmcHelixConfig;

export interface ConnectorsConfig {
  connectors: ConnectorConfig[];
  outbox: OutboxConfig;
}

const SEVERITY_KEYS: readonly SeverityKey[] = ["Sev0", "Sev1", "Sev2", "Sev3", "Sev4", "none"];

/** `Sev0=1,Sev1=1,…,none=3`: every severity (and `none`, for budget alerts) must be mapped. */
function severityMap(env: Env, name: string, fallback: string): SeverityMap {
  const raw = text(env, name, fallback);
  const entries = raw.split(",").map((entry) => entry.trim()).filter(Boolean).map((entry) => entry.split("="));
  const map = Object.fromEntries(entries.map(([k, v]) => [k?.trim(), v?.trim()]));
  for (const [key, value] of Object.entries(map)) {
    if (!SEVERITY_KEYS.includes(key as SeverityKey) || !value) throw new ConfigError(name, `entry "${key}=${value ?? ""}" must be SevN=value or none=value`);
  }
  const missing = SEVERITY_KEYS.filter((key) => !map[key]);
  if (missing.length) throw new ConfigError(name, `must map ${missing.join(", ")}`);
  return map as SeverityMap;
}

function serviceNow(env: Env): ServiceNowConfig | undefined {
  const url = optional(env, "SERVICENOW_URL");
  if (!url) return undefined;
  const mode = text(env, "SERVICENOW_MODE", "table");
  if (mode !== "table" && mode !== "event") throw new ConfigError("SERVICENOW_MODE", `must be "table" or "event", got "${mode}"`);
  const clientId = optional(env, "SERVICENOW_CLIENT_ID");
  const username = optional(env, "SERVICENOW_USERNAME");
  let auth: ServiceNowConfig["auth"];
  if (clientId) {
    const clientSecret = optional(env, "SERVICENOW_CLIENT_SECRET");
    if (!clientSecret) throw new ConfigError("SERVICENOW_CLIENT_SECRET", "is required with SERVICENOW_CLIENT_ID (or set SERVICENOW_CLIENT_SECRET_FILE)");
    auth = { type: "oauth", clientId, clientSecret };
  } else if (username) {
    const password = optional(env, "SERVICENOW_PASSWORD");
    if (!password) throw new ConfigError("SERVICENOW_PASSWORD", "is required with SERVICENOW_USERNAME (or set SERVICENOW_PASSWORD_FILE)");
    auth = { type: "basic", username, password };
  } else {
    throw new ConfigError("SERVICENOW_USERNAME", "or SERVICENOW_CLIENT_ID is required when SERVICENOW_URL is set");
  }
  return {
    kind: "servicenow",
    url: httpUrl(env, "SERVICENOW_URL"),
    mode,
    auth,
    ciTable: text(env, "SERVICENOW_CI_TABLE", "cmdb_ci"),
    urgency: severityMap(env, "SERVICENOW_URGENCY_MAP", "Sev0=1,Sev1=1,Sev2=2,Sev3=3,Sev4=3,none=3"),
    impact: severityMap(env, "SERVICENOW_IMPACT_MAP", "Sev0=1,Sev1=2,Sev2=2,Sev3=3,Sev4=3,none=3"),
    closeCode: text(env, "SERVICENOW_CLOSE_CODE", "Resolved by caller"),
    closeNotes: text(env, "SERVICENOW_CLOSE_NOTES", "Resolved by secure-export"),
    assignmentGroup: optional(env, "SERVICENOW_ASSIGNMENT_GROUP"),
    callerId: optional(env, "SERVICENOW_CALLER_ID"),
    category: optional(env, "SERVICENOW_CATEGORY"),
    eventSource: eventSource(env),
  };
}

/** em_event.source holds 100 characters; a longer name would be cut on every event, so it is refused at start. */
function eventSource(env: Env): string {
  const source = text(env, "SERVICENOW_EVENT_SOURCE", "Azure Monitor");
  if (source.length > 100) throw new ConfigError("SERVICENOW_EVENT_SOURCE", `must be at most 100 characters (ServiceNow's em_event.source), got ${source.length}`);
  return source;
}

function extraValues(env: Env, name: string): Record<string, string> {
  const raw = optional(env, name);
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(name, "must be a JSON object of field names to values");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== "string")) {
    throw new ConfigError(name, "must be a JSON object of field names to string values");
  }
  return parsed as Record<string, string>;
}

function bmcHelix(env: Env): BmcHelixConfig | undefined {
  const url = optional(env, "BMC_HELIX_URL");
  if (!url) return undefined;
  const password = optional(env, "BMC_HELIX_PASSWORD");
  if (!password) throw new ConfigError("BMC_HELIX_PASSWORD", "is required when BMC_HELIX_URL is set (or set BMC_HELIX_PASSWORD_FILE)");
  return {
    kind: "bmc-helix",
    url: httpUrl(env, "BMC_HELIX_URL"),
    username: text(env, "BMC_HELIX_USERNAME"),
    password,
    firstName: text(env, "BMC_HELIX_FIRST_NAME"),
    lastName: text(env, "BMC_HELIX_LAST_NAME"),
    impact: severityMap(env, "BMC_HELIX_IMPACT_MAP", "Sev0=1-Extensive/Widespread,Sev1=2-Significant/Large,Sev2=3-Moderate/Limited,Sev3=4-Minor/Localized,Sev4=4-Minor/Localized,none=4-Minor/Localized"),
    urgency: severityMap(env, "BMC_HELIX_URGENCY_MAP", "Sev0=1-Critical,Sev1=2-High,Sev2=3-Medium,Sev3=4-Low,Sev4=4-Low,none=4-Low"),
    serviceType: text(env, "BMC_HELIX_SERVICE_TYPE", "Infrastructure Event"),
    reportedSource: text(env, "BMC_HELIX_REPORTED_SOURCE", "Systems Management"),
    status: text(env, "BMC_HELIX_STATUS", "New"),
    statusReason: text(env, "BMC_HELIX_STATUS_REASON", "Automated Resolution Reported"),
    resolution: text(env, "BMC_HELIX_RESOLUTION", "Resolved by secure-export"),
    ciField: text(env, "BMC_HELIX_CI_FIELD", "HPD_CI"),
    correlationField: text(env, "BMC_HELIX_CORRELATION_FIELD", "Vendor Ticket Number"),
    extraValues: extraValues(env, "BMC_HELIX_EXTRA_VALUES"),
  };
}

export function loadConnectorsConfig(env: Env): ConnectorsConfig {
  return {
    connectors: [serviceNow(env), bmcHelix(env)].filter((c): c is ConnectorConfig => c !== undefined),
    outbox: {
      maxAgeMs: integer(env, "OUTBOX_MAX_AGE_SECONDS", 86_400, 60, 30 * 86_400) * 1000,
      retryBaseMs: integer(env, "OUTBOX_RETRY_BASE_SECONDS", 5, 0, 3600) * 1000,
      retryMaxMs: integer(env, "OUTBOX_RETRY_MAX_SECONDS", 900, 1, 86_400) * 1000,
      concurrency: integer(env, "OUTBOX_CONCURRENCY", 4, 1, 64),
      pollMs: integer(env, "OUTBOX_POLL_MS", 1000, 10, 60_000),
    },
  };
}
