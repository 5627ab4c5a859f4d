/**
 * Named ITSM connector instances: those the rules declare, and the one today's environment
 * variables (SERVICENOW_URL, BMC_HELIX_URL, …) configure, which keeps working as `default`.
 *
 * A declared instance is turned into a ConnectorConfig by connector-config.ts itself, fed the
 * variables its settings stand for: defaults and checks stay in one place, and an error it raises
 * names the rules field (not a variable the user never set). Secrets are never written in the
 * rules: `passwordEnv` / `clientSecretEnv` name an environment variable, `passwordFile` /
 * `clientSecretFile` a file (a mounted secret), read through the SecretReader given.
 */
import type { Severity } from "../alerts/schema.ts";
import { loadConnectorsConfig, type ConnectorConfig, type SeverityKey } from "../connectors/connector-config.ts";
import { ConfigError, type Env } from "../env.ts";
import { problem, type Problem, type RulesPath } from "./problems.ts";
import { choiceValue, SEVERITY_MAP_CHOICES } from "./set-fields.ts";

export interface NamedConnector {
  name: string;
  /** `environment`: configured by today's variables; `rules`: declared under `connectors`. */
  origin: "environment" | "rules";
  config: ConnectorConfig;
}

export type SecretRef = { env: string } | { file: string };
/** Returns the secret, or throws an Error whose message says why it cannot be had. */
export type SecretReader = (ref: SecretRef) => string;

type SeverityMapSpec = Partial<Record<SeverityKey, string | number>>;

/** A connector as declared in the rules (shape checked by rules-schema.ts). */
export interface ConnectorSpec {
  kind: "servicenow" | "bmc-helix";
  url: string;
  mode?: "table" | "event";
  auth: {
    username?: string;
    passwordEnv?: string;
    passwordFile?: string;
    clientId?: string;
    clientSecretEnv?: string;
    clientSecretFile?: string;
    password?: unknown;
    clientSecret?: unknown;
  };
  urgencyBySeverity?: SeverityMapSpec;
  impactBySeverity?: SeverityMapSpec;
  [setting: string]: unknown;
}

/** Settings that stand for a variable connector-config.ts reads, per kind. */
const SERVICENOW_SETTINGS: Readonly<Record<string, string>> = {
  url: "SERVICENOW_URL",
  mode: "SERVICENOW_MODE",
  ciTable: "SERVICENOW_CI_TABLE",
  closeCode: "SERVICENOW_CLOSE_CODE",
  closeNotes: "SERVICENOW_CLOSE_NOTES",
  assignmentGroup: "SERVICENOW_ASSIGNMENT_GROUP",
  callerId: "SERVICENOW_CALLER_ID",
  category: "SERVICENOW_CATEGORY",
  eventSource: "SERVICENOW_EVENT_SOURCE",
};

const BMC_HELIX_SETTINGS: Readonly<Record<string, string>> = {
  url: "BMC_HELIX_URL",
  firstName: "BMC_HELIX_FIRST_NAME",
  lastName: "BMC_HELIX_LAST_NAME",
  serviceType: "BMC_HELIX_SERVICE_TYPE",
  reportedSource: "BMC_HELIX_REPORTED_SOURCE",
  status: "BMC_HELIX_STATUS",
  statusReason: "BMC_HELIX_STATUS_REASON",
  resolution: "BMC_HELIX_RESOLUTION",
  ciField: "BMC_HELIX_CI_FIELD",
  correlationField: "BMC_HELIX_CORRELATION_FIELD",
  extraValues: "BMC_HELIX_EXTRA_VALUES",
};

const COMMON_KEYS = ["kind", "auth", "urgencyBySeverity", "impactBySeverity"];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Today's variables as named instances. One connector is `default`. When both SERVICENOW_URL and
 * BMC_HELIX_URL are set, ServiceNow's is `default` and BMC Helix's is `default-bmc-helix`.
 */
export function environmentConnectors<T extends Pick<ConnectorConfig, "kind">>(configs: readonly T[]): Array<{ name: string; origin: "environment"; config: T }> {
  return configs.map((config) => ({
    name: configs.length > 1 && config.kind === "bmc-helix" ? "default-bmc-helix" : "default",
    origin: "environment" as const,
    config,
  }));
}

function secretRef(auth: ConnectorSpec["auth"], stem: "password" | "clientSecret", path: RulesPath, problems: Problem[]): SecretRef | null {
  const envKey = `${stem}Env` as const;
  const fileKey = `${stem}File` as const;
  const envName = auth[envKey];
  const file = auth[fileKey];
  if (envName !== undefined && file !== undefined) {
    problems.push(problem("invalid_value", [...path, fileKey], `and ${envKey} are both set: name the secret once`));
    return null;
  }
  if (envName !== undefined) {
    if (!ENV_NAME.test(envName)) {
      problems.push(problem("invalid_value", [...path, envKey], `must be the name of an environment variable, got ${JSON.stringify(envName)}`));
      return null;
    }
    return { env: envName };
  }
  if (file !== undefined) {
    if (!file.startsWith("/")) {
      problems.push(problem("invalid_value", [...path, fileKey], `must be an absolute path (a mounted secret), got ${JSON.stringify(file)}`));
      return null;
    }
    return { file };
  }
  // An inline secret is reported on its own (inline_secret); saying "missing" as well adds nothing.
  if (auth[stem] === undefined) problems.push(problem("missing_key", path, `needs ${envKey} (an environment variable's name) or ${fileKey} (a file's path) for the ${stem === "password" ? "password" : "client secret"}`));
  return null;
}

function readSecret(ref: SecretRef | null, path: RulesPath, read: SecretReader, problems: Problem[]): string | null {
  if (!ref) return null;
  try {
    const value = read(ref).trim();
    if (value) return value;
    problems.push(problem("secret_unavailable", path, "env" in ref ? `names ${ref.env}, which is not set or empty` : `names ${ref.file}, which is empty`));
  } catch (error) {
    problems.push(problem("secret_unavailable", path, "env" in ref ? `names ${ref.env}, which cannot be read: ${(error as Error).message}` : `names ${ref.file}, which cannot be read: ${(error as Error).message}`));
  }
  return null;
}

/**
 * The variables that configure a ServiceNow or BMC Helix connector, from the spec's auth. A part
 * that cannot be had is a problem and a placeholder, so the other settings are still checked.
 */
function authVariables(spec: ConnectorSpec, path: RulesPath, read: SecretReader, problems: Problem[]): Env {
  const auth = spec.auth;
  const at = [...path, "auth"];
  const missing = "(unavailable)";
  for (const inline of ["password", "clientSecret"] as const) {
    if (auth[inline] !== undefined) {
      problems.push(problem("inline_secret", [...at, inline], `is not accepted: secrets never go in the rules; use ${inline}Env (an environment variable's name) or ${inline}File (a mounted file's path)`));
    }
  }
  const oauth = auth.clientId !== undefined || auth.clientSecretEnv !== undefined || auth.clientSecretFile !== undefined;
  const basic = auth.username !== undefined || auth.passwordEnv !== undefined || auth.passwordFile !== undefined;
  if (spec.kind === "bmc-helix") {
    if (oauth) problems.push(problem("invalid_value", at, "takes username with passwordEnv or passwordFile: BMC Helix logs in with a user (AR-JWT), not OAuth client credentials"));
    if (auth.username === undefined) problems.push(problem("missing_key", [...at, "username"], "is required"));
    const password = readSecret(secretRef(auth, "password", at, problems), at, read, problems);
    return { BMC_HELIX_USERNAME: auth.username ?? missing, BMC_HELIX_PASSWORD: password ?? missing };
  }
  if (oauth && basic) {
    problems.push(problem("invalid_value", at, "mixes basic (username, password…) and OAuth (clientId, clientSecret…) settings: choose one"));
    return { SERVICENOW_USERNAME: missing, SERVICENOW_PASSWORD: missing };
  }
  if (oauth) {
    if (auth.clientId === undefined) problems.push(problem("missing_key", [...at, "clientId"], "is required with clientSecretEnv or clientSecretFile"));
    const secret = readSecret(secretRef(auth, "clientSecret", at, problems), at, read, problems);
    return { SERVICENOW_CLIENT_ID: auth.clientId ?? missing, SERVICENOW_CLIENT_SECRET: secret ?? missing };
  }
  if (auth.username === undefined) {
    problems.push(problem("missing_key", at, "needs username with passwordEnv or passwordFile (basic), or clientId with clientSecretEnv or clientSecretFile (OAuth)"));
    return { SERVICENOW_USERNAME: missing, SERVICENOW_PASSWORD: missing };
  }
  const password = readSecret(secretRef(auth, "password", at, problems), at, read, problems);
  return { SERVICENOW_USERNAME: auth.username, SERVICENOW_PASSWORD: password ?? missing };
}

function severityMap(
  spec: SeverityMapSpec | undefined,
  defaults: Readonly<Record<SeverityKey, string>>,
  choices: readonly string[],
  path: RulesPath,
  problems: Problem[],
): Record<SeverityKey, string> {
  const map = { ...defaults };
  for (const [severity, value] of Object.entries(spec ?? {})) {
    const chosen = choiceValue(choices, value);
    if (chosen === null) {
      problems.push(problem("invalid_value", [...path, severity], `must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}, got ${JSON.stringify(value)}`));
    } else {
      map[severity as Severity | "none"] = chosen;
    }
  }
  return map;
}

/** Builds one declared connector; null (with problems added) when it cannot be built. */
export function buildConnector(name: string, spec: ConnectorSpec, path: RulesPath, read: SecretReader, problems: Problem[]): NamedConnector | null {
  const settings = spec.kind === "servicenow" ? SERVICENOW_SETTINGS : BMC_HELIX_SETTINGS;
  const other = spec.kind === "servicenow" ? BMC_HELIX_SETTINGS : SERVICENOW_SETTINGS;
  const before = problems.length;
  for (const key of Object.keys(spec)) {
    if (COMMON_KEYS.includes(key) || key in settings) continue;
    problems.push(
      problem(
        "unknown_key",
        [...path, key],
        key in other
          ? `is a ${spec.kind === "servicenow" ? "BMC Helix" : "ServiceNow"} setting; this connector is kind ${spec.kind}`
          : `is not a ${spec.kind} setting; use one of: ${[...COMMON_KEYS, ...Object.keys(settings)].join(", ")}`,
      ),
    );
  }
  const env: Env = authVariables(spec, path, read, problems);
  for (const [key, variable] of Object.entries(settings)) {
    const value = spec[key];
    if (value !== undefined) env[variable] = typeof value === "string" ? value : JSON.stringify(value);
  }
  let config: ConnectorConfig | undefined;
  try {
    config = loadConnectorsConfig(env).connectors[0];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const key = Object.entries(settings).find(([, variable]) => error.variable === variable)?.[0];
    // The message starts with the variable's name; the problem names the field instead.
    problems.push(problem("invalid_value", key ? [...path, key] : path, error.message.slice(error.variable.length + 1)));
  }
  if (!config) return null;
  const choices = SEVERITY_MAP_CHOICES[config.kind];
  const urgency = severityMap(spec.urgencyBySeverity, config.urgency, choices.urgency, [...path, "urgencyBySeverity"], problems);
  const impact = severityMap(spec.impactBySeverity, config.impact, choices.impact, [...path, "impactBySeverity"], problems);
  if (problems.length > before) return null;
  return { name, origin: "rules", config: { ...config, urgency, impact } };
}
