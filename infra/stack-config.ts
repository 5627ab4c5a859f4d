/**
 * The stack's configuration: read from Pulumi config, validated with messages that name the key,
 * and the ONE owner of every default. Pulumi.yaml declares no `secure-export:` key on purpose: the
 * CLI treats a declared key without a default as required and refuses every stack lacking it, and a
 * declared default would be a second owner (docs/deploy/pulumi.md#configuration lists these defaults).
 * Pure: `parseStackConfig` takes plain values.
 */
import { PostgresMajorVersion } from "@pulumi/azure-native/types/enums/dbforpostgresql/index.js";
import { ruleProblem, stackNameProblems, stackNames, type StackNames } from "./azure-names.ts";
import { poolMaxPerReplica, postgresSku, type SkuTier } from "./postgres-sku.ts";
import { connectorSettingProblem, connectorVariable, type ConnectorShape } from "../receiver/src/routing/check.ts";
import { parseClosedLoop, type ClosedLoopSettings } from "./closed-loop-config.ts";
import { parseEvidenceWorkspaces } from "./log-evidence.ts";
import { routingRules } from "./routing-config.ts";
import { StackConfigError } from "./stack-config-error.ts";

export { StackConfigError };

export type DatabaseMode = "postgres" | "embedded";

/** Connector settings without their secrets, which stay Pulumi secrets (see index.ts). */
export interface ConnectorSettings {
  serviceNow?: { url: string; mode: "table" | "event"; auth: "basic" | "oauth"; username?: string; clientId?: string; credentialExpiresAt?: string };
  bmcHelix?: { url: string; username: string; firstName: string; lastName: string; credentialExpiresAt?: string };
  /** More receiver variables (mappings, close codes…), passed through as they are. */
  extraEnvironment: Record<string, string>;
}

/**
 * Where the stack's Entra application comes from: its own (created and owned by the stack), or a
 * shared one exported by another stack (preview stacks: no Entra write needed, nothing left behind).
 */
export type IdentitySource =
  | { kind: "own"; owners: string[]; readers: string[]; operators: string[] }
  | { kind: "shared"; stack: string };

export interface PostgresSettings {
  sku: string;
  tier: SkuTier;
  version: string;
  /** DATABASE_POOL_MAX: connections one replica may open (see postgres-sku.ts). */
  poolMax: number;
}

export interface StackConfig {
  stack: string;
  /** A short-lived review stack (its name matches previewStackPattern): cheap, disposable, unprotected. */
  preview: boolean;
  /** Only the Entra application for preview stacks to share (stack preview-identity). */
  identityOnly: boolean;
  /**
   * With identityOnly: also the Container Apps environment (and its Log Analytics workspace) every
   * preview stack runs in. A subscription may have 15 environments per region by default (Microsoft
   * Learn, "Quotas for Azure Container Apps") and apps per environment are unlimited, so one shared
   * environment keeps the number of open pull requests from being capped at 15.
   */
  sharedEnvironment: boolean;
  identity: IdentitySource;
  location: string;
  /** Prefix of Azure resource names, lower-case letters and digits. */
  namePrefix: string;
  names: StackNames;
  databaseMode: DatabaseMode;
  /** Set when databaseMode is postgres. */
  postgres: PostgresSettings | undefined;
  /** A prebuilt image reference (ideally by digest); unset builds receiver/Dockerfile into the stack's registry. */
  image: string | undefined;
  /** ARM id of the shared Azure Container Registry holding `image`; the receiver identity gets AcrPull on it. */
  imageRegistryId: string | undefined;
  minReplicas: number;
  maxReplicas: number;
  actionGroupShortName: string;
  exampleAlertRules: boolean;
  /** `protect` on the data and the identity. */
  protect: boolean;
  connectors: ConnectorSettings;
  /** ROUTING_RULES (secure-export:routing as JSON, checked), or undefined without rules. */
  routingRules: string | undefined;
  /** Scrape the receiver's Prometheus metrics into Application Insights (a collector sidecar). */
  metrics: boolean;
  /** The Azure alert write-back, reconciliation's reads, and the ITSM sync clients (closed-loop-config.ts). */
  closedLoop: ClosedLoopSettings;
  /** Log Analytics workspaces whose logs the receiver's identity may query for log evidence (log-evidence.ts); empty: LOG_EVIDENCE off. */
  evidenceWorkspaces: string[];
}

export type RawConfig = Record<string, string | undefined>;

/** Keys that must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = ["servicenowPassword", "servicenowClientSecret", "bmcHelixPassword"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** The receiver variable each secret key becomes, and the Container App secret holding it. */
export const SECRET_VARIABLES: Readonly<Record<SecretKey, { variable: string; secretName: string }>> = {
  servicenowPassword: { variable: connectorVariable("servicenow", "password"), secretName: "servicenow-password" },
  servicenowClientSecret: { variable: connectorVariable("servicenow", "clientSecret"), secretName: "servicenow-client-secret" },
  bmcHelixPassword: { variable: connectorVariable("bmc-helix", "password"), secretName: "bmc-helix-password" },
};

/** A secret key whose value is a JSON object of receiver variable names to secrets (routing-config.ts). */
export const ROUTING_SECRETS_KEY = "routingSecrets";

/** Plain (non-secret) keys the program reads. */
export const CONFIG_KEYS = [
  "location", "namePrefix", "databaseMode", "postgresSku", "postgresVersion", "image", "imageRegistryId", "minReplicas", "maxReplicas",
  "actionGroupShortName", "actionGroupName", "exampleAlertRules", "protect", "previewStackPattern", "receiverEnvironment",
  "identityOnly", "sharedEnvironment", "identityStack", "owners", "readers", "operators", "itsmSyncClients", "alertSync", "alertSyncScopes", "evidenceWorkspaces",
  "servicenowUrl", "servicenowMode", "servicenowUsername", "servicenowClientId", "servicenowCredentialExpiresAt",
  "bmcHelixUrl", "bmcHelixUsername", "bmcHelixFirstName", "bmcHelixLastName", "bmcHelixCredentialExpiresAt",
  "routing", "metrics",
] as const;

/**
 * An action group name chosen in config: a stack deployed before the heartbeat keeps its
 * auto-named group (and every alert rule outside the stack that names it) by giving that name.
 */
function actionGroupName(name: string): string {
  const problem = ruleProblem("actionGroup", name);
  if (problem) throw new StackConfigError("actionGroupName", `must be a valid name: ${problem}`);
  return name;
}

/** The defaults, in one place (the ones that depend on other values are computed in parseStackConfig). */
export const DEFAULTS = {
  location: "westeurope",
  namePrefix: "secexp",
  postgresSku: "Standard_B1ms",
  postgresVersion: "16",
  minReplicas: 1,
  /** At least minReplicas. */
  maxReplicas: 3,
  actionGroupShortName: "secexport",
  exampleAlertRules: false,
  previewStackPattern: "pr-*",
  servicenowMode: "table",
  identityOnly: false,
  sharedEnvironment: false,
  metrics: true,
} as const;

/** `pr-*` style patterns: `*` matches anything. */
export function matchesPattern(name: string, pattern: string): boolean {
  const regex = new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return regex.test(name);
}

function boolean(raw: RawConfig, key: string, fallback: boolean): boolean {
  const value = raw[key];
  if (value === undefined || value === "") return fallback;
  if (value === "true" || value === "false") return value === "true";
  throw new StackConfigError(key, `must be true or false, got "${value}"`);
}

function integer(raw: RawConfig, key: string, fallback: number, min: number, max: number): number {
  const value = raw[key];
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new StackConfigError(key, `must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A list of Entra object ids: a YAML list (which Pulumi hands over as JSON text) or comma-separated text. */
function objectIds(raw: RawConfig, key: string): string[] {
  const value = raw[key]?.trim();
  if (!value) return [];
  let items: unknown;
  if (value.startsWith("[")) {
    try {
      items = JSON.parse(value);
    } catch {
      items = undefined;
    }
  } else {
    items = value.split(",").map((item) => item.trim()).filter(Boolean);
  }
  if (!Array.isArray(items) || items.some((item) => typeof item !== "string" || !OBJECT_ID.test(item))) {
    throw new StackConfigError(key, `must be a list of Entra object ids (GUIDs of users, groups or service principals), got ${value}`);
  }
  return [...new Set(items.map((item: string) => item.toLowerCase()))];
}

function jsonObject(raw: RawConfig, key: string): Record<string, string> {
  const value = raw[key];
  if (!value) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new StackConfigError(key, "must be a JSON object of receiver variable names to values");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== "string")) {
    throw new StackConfigError(key, "must be a JSON object of receiver variable names to string values");
  }
  return parsed as Record<string, string>;
}

/**
 * When the secret given for a connector expires, checked at preview as the receiver checks
 * `credentialExpiresAt` (docs/operations.md#credential-expiry): the stack is handed the secret, it
 * does not create it, so only its owner knows the date.
 */
function credentialExpiresAt(raw: RawConfig, key: string, kindId: string): { credentialExpiresAt?: string } {
  const value = raw[key]?.trim();
  if (!value) return {};
  const problem = connectorSettingProblem(kindId, "credentialExpiresAt", value);
  if (problem) throw new StackConfigError(key, problem);
  return { credentialExpiresAt: value };
}

function connectors(raw: RawConfig, secrets: ReadonlySet<SecretKey>): ConnectorSettings {
  const result: ConnectorSettings = { extraEnvironment: jsonObject(raw, "receiverEnvironment") };
  const snUrl = raw.servicenowUrl;
  if (snUrl) {
    const mode = raw.servicenowMode || DEFAULTS.servicenowMode;
    if (mode !== "table" && mode !== "event") throw new StackConfigError("servicenowMode", `must be "table" or "event", got "${mode}"`);
    const oauth = Boolean(raw.servicenowClientId);
    if (oauth ? !secrets.has("servicenowClientSecret") : !(raw.servicenowUsername && secrets.has("servicenowPassword"))) {
      throw new StackConfigError("servicenowUrl", "needs servicenowUsername and the secret servicenowPassword, or servicenowClientId and the secret servicenowClientSecret (pulumi config set --secret …)");
    }
    result.serviceNow = {
      url: snUrl,
      mode,
      auth: oauth ? "oauth" : "basic",
      ...(oauth ? { clientId: raw.servicenowClientId! } : { username: raw.servicenowUsername! }),
      ...credentialExpiresAt(raw, "servicenowCredentialExpiresAt", "servicenow"),
    };
  }
  if (raw.bmcHelixUrl) {
    for (const key of ["bmcHelixUsername", "bmcHelixFirstName", "bmcHelixLastName"]) {
      if (!raw[key]) throw new StackConfigError(key, "is required when bmcHelixUrl is set");
    }
    if (!secrets.has("bmcHelixPassword")) throw new StackConfigError("bmcHelixPassword", "is required when bmcHelixUrl is set (pulumi config set --secret bmcHelixPassword …)");
    result.bmcHelix = { url: raw.bmcHelixUrl, username: raw.bmcHelixUsername!, firstName: raw.bmcHelixFirstName!, lastName: raw.bmcHelixLastName!, ...credentialExpiresAt(raw, "bmcHelixCredentialExpiresAt", "bmc-helix") };
  }
  return result;
}

function imageRegistryId(raw: RawConfig): string | undefined {
  const id = raw.imageRegistryId;
  if (!id) return undefined;
  if (!raw.image) throw new StackConfigError("imageRegistryId", "only applies with secure-export:image (a prebuilt image in that registry)");
  if (!/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/registries\/[^/]+$/i.test(id)) {
    throw new StackConfigError("imageRegistryId", `must be the ARM id of an Azure Container Registry, got "${id}"`);
  }
  return id;
}

function identitySource(raw: RawConfig, identityOnly: boolean): IdentitySource {
  const shared = raw.identityStack?.trim();
  if (shared) {
    if (identityOnly) throw new StackConfigError("identityStack", "cannot be set on an identityOnly stack: that stack is the one others reference");
    // A StackReference needs the fully qualified name: organization/project/stack.
    if (!/^[\w.-]+\/[\w.-]+\/[\w.-]+$/.test(shared)) throw new StackConfigError("identityStack", `must be a fully qualified stack name (organization/project/stack), got "${shared}"`);
    for (const key of ["owners", "readers", "operators"]) {
      if (raw[key]) throw new StackConfigError(key, `has no effect with identityStack: set it on ${shared}, which owns the application`);
    }
    return { kind: "shared", stack: shared };
  }
  return { kind: "own", owners: objectIds(raw, "owners"), readers: objectIds(raw, "readers"), operators: objectIds(raw, "operators") };
}

function postgresSettings(raw: RawConfig, maxReplicas: number): PostgresSettings {
  const sku = raw.postgresSku || DEFAULTS.postgresSku;
  const known = postgresSku(sku);
  if (!known) {
    throw new StackConfigError("postgresSku", `must be a flexible server SKU such as Standard_B1ms, Standard_B2s, Standard_D2ds_v5 or Standard_E2ds_v5, got "${sku}"`);
  }
  const version = raw.postgresVersion || DEFAULTS.postgresVersion;
  const versions: string[] = Object.values(PostgresMajorVersion);
  if (!versions.includes(version)) throw new StackConfigError("postgresVersion", `must be one of ${versions.join(", ")}, got "${version}"`);
  const poolMax = poolMaxPerReplica(known, maxReplicas);
  if (poolMax < 2) {
    throw new StackConfigError(
      "maxReplicas",
      `is too large for postgresSku ${sku}: it allows ${known.maxUserConnections} user connections, and a rollout runs 2 x ${maxReplicas} replicas, leaving fewer than 2 per replica; lower maxReplicas or choose a larger SKU`,
    );
  }
  return { sku, tier: known.tier, version, poolMax };
}

/** The secret keys today's connector settings put into the receiver's environment. */
export function connectorSecretKeys(connectors: ConnectorSettings): SecretKey[] {
  const keys: SecretKey[] = [];
  if (connectors.serviceNow) keys.push(connectors.serviceNow.auth === "oauth" ? "servicenowClientSecret" : "servicenowPassword");
  if (connectors.bmcHelix) keys.push("bmcHelixPassword");
  return keys;
}

/** The connectors the receiver will build from today's variables, as checkRoutingRules needs them. */
function connectorShapes(connectors: ConnectorSettings): ConnectorShape[] {
  return [
    ...(connectors.serviceNow ? [{ kind: "servicenow" as const, mode: connectors.serviceNow.mode }] : []),
    ...(connectors.bmcHelix ? [{ kind: "bmc-helix" as const }] : []),
  ];
}

/**
 * `routingSecretVariables`: the variable names of secure-export:routingSecrets (parseRoutingSecrets),
 * which the rules' passwordEnv / clientSecretEnv may name.
 */
export function parseStackConfig(stack: string, raw: RawConfig, secrets: ReadonlySet<SecretKey> = new Set(), routingSecretVariables: readonly string[] = []): StackConfig {
  const preview = matchesPattern(stack, raw.previewStackPattern || DEFAULTS.previewStackPattern);
  const identityOnly = boolean(raw, "identityOnly", DEFAULTS.identityOnly);
  if (identityOnly && preview) throw new StackConfigError("identityOnly", `cannot be true on a preview stack (${stack}): the shared application must outlive every pull request`);
  // A stack on the shared application runs in the shared environment, which has no private network for a server.
  const sharesEnvironment = Boolean(raw.identityStack?.trim());
  const databaseMode = (raw.databaseMode || (preview || sharesEnvironment ? "embedded" : "postgres")) as DatabaseMode;
  if (databaseMode !== "postgres" && databaseMode !== "embedded") {
    throw new StackConfigError("databaseMode", `must be "postgres" or "embedded", got "${databaseMode}"`);
  }
  if (sharesEnvironment && databaseMode === "postgres") {
    throw new StackConfigError("databaseMode", `cannot be postgres with identityStack: such a stack runs in the shared preview environment, which has no private network for a database server; use embedded, or give the stack its own application (no identityStack)`);
  }
  const namePrefix = raw.namePrefix || DEFAULTS.namePrefix;
  if (!/^[a-z][a-z0-9]{1,11}$/.test(namePrefix)) {
    throw new StackConfigError("namePrefix", `must be 2 to 12 lower-case letters and digits starting with a letter (it becomes part of registry and server names), got "${namePrefix}"`);
  }
  const sharedEnvironment = boolean(raw, "sharedEnvironment", DEFAULTS.sharedEnvironment);
  if (sharedEnvironment && !identityOnly) throw new StackConfigError("sharedEnvironment", "only applies with identityOnly: the stack preview stacks share (preview-identity) holds their environment");
  // An identity-only stack without the shared environment creates no Azure resource: Azure's naming rules do not apply to it.
  const nameProblems = identityOnly && !sharedEnvironment ? [] : stackNameProblems(namePrefix, stack);
  if (nameProblems.length > 0) {
    throw new StackConfigError(
      { stack },
      `cannot be deployed with namePrefix "${namePrefix}": ${nameProblems.join("; ")}. Use a shorter stack name of lower-case letters, digits and '-', or a shorter secure-export:namePrefix`,
    );
  }
  const actionGroupShortName = raw.actionGroupShortName || DEFAULTS.actionGroupShortName;
  if (actionGroupShortName.length > 12) {
    throw new StackConfigError("actionGroupShortName", `must be at most 12 characters (Azure's limit for an action group's short name), got "${actionGroupShortName}" (${actionGroupShortName.length})`);
  }
  // The embedded store lives in one process: more than one replica would mean several databases.
  const embedded = databaseMode === "embedded";
  const minReplicas = integer(raw, "minReplicas", DEFAULTS.minReplicas, 1, 30);
  const maxReplicas = embedded ? 1 : integer(raw, "maxReplicas", Math.max(DEFAULTS.maxReplicas, minReplicas), 1, 30);
  if (embedded && minReplicas !== 1) throw new StackConfigError("minReplicas", "must be 1 with databaseMode embedded: the embedded store runs in exactly one replica");
  if (maxReplicas < minReplicas) throw new StackConfigError("maxReplicas", `must be at least minReplicas (${minReplicas}), got ${maxReplicas}`);
  const protect = boolean(raw, "protect", /^prod/.test(stack));
  if (preview && protect) throw new StackConfigError("protect", `cannot be true on a preview stack (${stack}): preview stacks are torn down`);
  // Building here pushes with the registry's admin credentials (receiver-service.ts): a protected
  // stack runs only an image the pipeline built and dev ran, deployed by digest.
  if (protect && !identityOnly && !raw.image) {
    throw new StackConfigError(
      "image",
      `is required on a protected stack (${stack}): it runs the image the pipeline built and deployed to dev, by digest (its deploy writes it into Pulumi.${stack}.yaml), and never builds one with a registry's admin user`,
    );
  }
  const connectorSettings = connectors(raw, secrets);
  return {
    stack,
    preview,
    identityOnly,
    sharedEnvironment,
    identity: identitySource(raw, identityOnly),
    location: raw.location || DEFAULTS.location,
    namePrefix,
    names: { ...stackNames(namePrefix, stack), ...(raw.actionGroupName ? { actionGroup: actionGroupName(raw.actionGroupName) } : {}) },
    databaseMode,
    postgres: embedded ? undefined : postgresSettings(raw, maxReplicas),
    image: raw.image || undefined,
    imageRegistryId: imageRegistryId(raw),
    minReplicas,
    maxReplicas,
    actionGroupShortName,
    exampleAlertRules: boolean(raw, "exampleAlertRules", DEFAULTS.exampleAlertRules),
    protect,
    connectors: connectorSettings,
    routingRules: routingRules(raw.routing, connectorShapes(connectorSettings), new Set([...connectorSecretKeys(connectorSettings).map((key) => SECRET_VARIABLES[key].variable), ...routingSecretVariables])),
    metrics: boolean(raw, "metrics", DEFAULTS.metrics),
    closedLoop: parseClosedLoop(raw, !raw.identityStack?.trim()),
    evidenceWorkspaces: parseEvidenceWorkspaces(raw),
  };
}
