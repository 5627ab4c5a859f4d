/**
 * The stack's configuration: read from Pulumi config, defaults applied here (Pulumi.yaml's
 * defaults are documentation for `pulumi config`, and are not applied under test mocks), and
 * validated with messages that name the key. Pure: `parseStackConfig` takes plain values.
 */

export type DatabaseMode = "postgres" | "embedded";

/** Connector settings without their secrets, which stay Pulumi secrets (see index.ts). */
export interface ConnectorSettings {
  serviceNow?: { url: string; mode: "table" | "event"; auth: "basic" | "oauth"; username?: string; clientId?: string };
  bmcHelix?: { url: string; username: string; firstName: string; lastName: string };
  /** More receiver variables (mappings, close codes…), passed through as they are. */
  extraEnvironment: Record<string, string>;
}

export interface StackConfig {
  stack: string;
  /** A short-lived review stack (its name matches previewStackPattern): cheap, disposable, unprotected. */
  preview: boolean;
  location: string;
  /** Prefix of Azure resource names, lower-case letters and digits. */
  namePrefix: string;
  databaseMode: DatabaseMode;
  postgresSku: string;
  postgresVersion: string;
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
}

export class StackConfigError extends Error {
  constructor(key: string, problem: string) {
    super(`secure-export:${key} ${problem}`);
    this.name = "StackConfigError";
  }
}

export type RawConfig = Record<string, string | undefined>;

/** Keys that must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = ["servicenowPassword", "servicenowClientSecret", "bmcHelixPassword"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

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

function connectors(raw: RawConfig, secrets: ReadonlySet<SecretKey>): ConnectorSettings {
  const result: ConnectorSettings = { extraEnvironment: jsonObject(raw, "receiverEnvironment") };
  const snUrl = raw.servicenowUrl;
  if (snUrl) {
    const mode = raw.servicenowMode ?? "table";
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
    };
  }
  if (raw.bmcHelixUrl) {
    for (const key of ["bmcHelixUsername", "bmcHelixFirstName", "bmcHelixLastName"]) {
      if (!raw[key]) throw new StackConfigError(key, "is required when bmcHelixUrl is set");
    }
    if (!secrets.has("bmcHelixPassword")) throw new StackConfigError("bmcHelixPassword", "is required when bmcHelixUrl is set (pulumi config set --secret bmcHelixPassword …)");
    result.bmcHelix = { url: raw.bmcHelixUrl, username: raw.bmcHelixUsername!, firstName: raw.bmcHelixFirstName!, lastName: raw.bmcHelixLastName! };
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

export function parseStackConfig(stack: string, raw: RawConfig, secrets: ReadonlySet<SecretKey> = new Set()): StackConfig {
  const preview = matchesPattern(stack, raw.previewStackPattern || "pr-*");
  const databaseMode = (raw.databaseMode || (preview ? "embedded" : "postgres")) as DatabaseMode;
  if (databaseMode !== "postgres" && databaseMode !== "embedded") {
    throw new StackConfigError("databaseMode", `must be "postgres" or "embedded", got "${databaseMode}"`);
  }
  const namePrefix = raw.namePrefix || "secexp";
  if (!/^[a-z][a-z0-9]{1,11}$/.test(namePrefix)) {
    throw new StackConfigError("namePrefix", `must be 2 to 12 lower-case letters and digits starting with a letter (it becomes part of registry and server names), got "${namePrefix}"`);
  }
  const actionGroupShortName = raw.actionGroupShortName || "secexport";
  if (actionGroupShortName.length > 12) {
    throw new StackConfigError("actionGroupShortName", `must be at most 12 characters (Azure's limit for an action group's short name), got "${actionGroupShortName}" (${actionGroupShortName.length})`);
  }
  // The embedded store lives in one process: more than one replica would mean several databases.
  const embedded = databaseMode === "embedded";
  const minReplicas = integer(raw, "minReplicas", 1, 1, 30);
  const maxReplicas = embedded ? 1 : integer(raw, "maxReplicas", Math.max(3, minReplicas), 1, 30);
  if (embedded && minReplicas !== 1) throw new StackConfigError("minReplicas", "must be 1 with databaseMode embedded: the embedded store runs in exactly one replica");
  if (maxReplicas < minReplicas) throw new StackConfigError("maxReplicas", `must be at least minReplicas (${minReplicas}), got ${maxReplicas}`);
  const protect = boolean(raw, "protect", /^prod/.test(stack));
  if (preview && protect) throw new StackConfigError("protect", `cannot be true on a preview stack (${stack}): preview stacks are torn down`);
  return {
    stack,
    preview,
    location: raw.location || "westeurope",
    namePrefix,
    databaseMode,
    postgresSku: raw.postgresSku || "Standard_B1ms",
    postgresVersion: raw.postgresVersion || "16",
    image: raw.image || undefined,
    imageRegistryId: imageRegistryId(raw),
    minReplicas,
    maxReplicas,
    actionGroupShortName,
    exampleAlertRules: boolean(raw, "exampleAlertRules", false),
    protect,
    connectors: connectors(raw, secrets),
  };
}

/** Plain (non-secret) keys the program reads. */
export const CONFIG_KEYS = [
  "location", "namePrefix", "databaseMode", "postgresSku", "postgresVersion", "image", "imageRegistryId", "minReplicas", "maxReplicas",
  "actionGroupShortName", "exampleAlertRules", "protect", "previewStackPattern", "receiverEnvironment",
  "servicenowUrl", "servicenowMode", "servicenowUsername", "servicenowClientId",
  "bmcHelixUrl", "bmcHelixUsername", "bmcHelixFirstName", "bmcHelixLastName",
] as const;
