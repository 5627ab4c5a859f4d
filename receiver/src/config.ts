/**
 * Receiver configuration, read from the environment alone (docs/configuration.md#running-the-receiver-in-production).
 * Every problem is reported at once, each naming its variable.
 */
import { STATELESS_FAMILIES, type SignalFamily } from "./alerts/normalise.ts";
import type { AuthConfig } from "./auth/auth-config.ts";
import { azureConfigFromEnv, type AzureConfig } from "./azure/azure-config.ts";
import { heartbeatConfigFromEnv, type HeartbeatConfig } from "./azure/heartbeat-config.ts";
import { strayConnectorVariables } from "./connectors/kind.ts";
import { CONNECTOR_KINDS, connectorsFromEnv, type ConnectorConfig } from "./connectors/kinds.ts";
import { AZNS_WEBHOOK_CLIENT_ID, DATABASE_AUTH_MANAGED_IDENTITY } from "./contract.ts";
import { ConfigError, guid, httpUrl, integer, list, text, type Env } from "./env.ts";
import { outboxConfigFromEnv, type OutboxConfig } from "./outbox/retry-policy.ts";
import { loadRoutingRules, noRoutingRules, rulesSecretVariables, type RoutingRules } from "./routing/load-rules.ts";
import type { DatabaseAuth } from "./store/open-database.ts";

export { ConfigError };

/** All the configuration problems found, in the order of the variables' table. */
export class ConfigErrors extends Error {
  readonly errors: readonly ConfigError[];
  constructor(errors: readonly ConfigError[]) {
    super(errors.map((e) => e.message).join("; "));
    this.name = "ConfigErrors";
    this.errors = errors;
  }
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export interface ReceiverConfig {
  port: number;
  host: string;
  auth: AuthConfig;
  databaseUrl: string | undefined;
  databaseAuth: DatabaseAuth;
  /** DATABASE_POOL_MAX: the most PostgreSQL connections this process opens, all pools together. */
  databasePoolMax: number;
  dataDir: string;
  bodyLimitBytes: number;
  /** A request (headers and body) must arrive within this; a stalled upload is cut with 408. */
  requestTimeoutMs: number;
  /** Prometheus metrics listen here, apart from the API (not behind the ingress); 0 = any free port. */
  metricsPort: number;
  /** Proxies in front that append X-Forwarded-For (1 behind Container Apps' ingress). */
  trustedProxyHops: number;
  /** Days notifications, timelines of resolved incidents and delivered jobs are kept; 0 = forever. */
  retentionDays: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Quiet period per stateless family, in ms. Unlisted families stay open until an operator resolves them. */
  quietPeriods: Partial<Record<SignalFamily, number>>;
  /** The connectors today's variables configure (the routing rules name them `default`…). */
  connectors: ConnectorConfig[];
  outbox: OutboxConfig;
  /** ROUTING_RULES / ROUTING_RULES_FILE: admission, named connectors, routes, maintenance windows. */
  routing: RoutingRules;
  /** How often holds are released and noise timers run (docs/noise.md): a hold ends, a group's ticket opens, at most this late. */
  noiseTimerMs: number;
  /** Azure as the receiver's identity reaches it: the alert write-back and reconciliation. */
  azure: AzureConfig;
  /** CREDENTIAL_WARN_DAYS: a connector's credential raises an incident this many days before its credentialExpiresAt. */
  credentialWarnDays: number;
  /** The heartbeat through the real action group; null = off. */
  heartbeat: HeartbeatConfig | null;
}

/** ENTRA_CLIENT_ID is optional: without it the receiver works, only the web console cannot sign anyone in. */
function clientId(env: Env): string | undefined {
  const value = env.ENTRA_CLIENT_ID?.trim();
  if (!value) return undefined;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    throw new ConfigError("ENTRA_CLIENT_ID", `must be a GUID (the application's client id), got "${value}"`);
  }
  return value.toLowerCase();
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `log=4h,activity-log=1d`: quiet periods for the stateless families that should auto-resolve. */
function quietPeriods(env: Env, name: string): Partial<Record<SignalFamily, number>> {
  const raw = env[name]?.trim();
  const result: Partial<Record<SignalFamily, number>> = {};
  if (!raw) return result;
  for (const entry of raw.split(",").map((e) => e.trim()).filter(Boolean)) {
    const match = /^([a-z-]+)=(\d+)([smhd])$/.exec(entry);
    const family = match?.[1] as SignalFamily | undefined;
    if (!match || !family || !STATELESS_FAMILIES.includes(family) || Number(match[2]) === 0) {
      throw new ConfigError(name, `entry "${entry}" must be family=duration with family one of ${STATELESS_FAMILIES.join(", ")} and a duration like 30m, 4h or 7d`);
    }
    result[family] = Number(match[2]) * (UNIT_MS[match[3]!] as number);
  }
  return result;
}

function databaseAuth(env: Env): DatabaseAuth {
  const kind = text(env, "DATABASE_AUTH", "password");
  if (kind === "password") return { kind };
  if (kind !== DATABASE_AUTH_MANAGED_IDENTITY) throw new ConfigError("DATABASE_AUTH", `must be "password" or "${DATABASE_AUTH_MANAGED_IDENTITY}", got "${kind}"`);
  if (!env.DATABASE_URL?.trim()) throw new ConfigError("DATABASE_URL", `is required with DATABASE_AUTH=${DATABASE_AUTH_MANAGED_IDENTITY}`);
  return { kind, clientId: env.AZURE_CLIENT_ID?.trim() ? guid(env, "AZURE_CLIENT_ID") : undefined };
}

function logLevel(env: Env): ReceiverConfig["logLevel"] {
  const value = text(env, "LOG_LEVEL", "info").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new ConfigError("LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}, got "${value}"`);
  return value as ReceiverConfig["logLevel"];
}

function databaseUrl(env: Env): string | undefined {
  const value = env.DATABASE_URL?.trim();
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError("DATABASE_URL", "must be a URL like postgres://user@host:5432/database?sslmode=verify-full");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw new ConfigError("DATABASE_URL", `must start with postgres:// or postgresql://, got "${url.protocol}//"`);
  if (!url.hostname) throw new ConfigError("DATABASE_URL", "must name a host");
  return value;
}

export function loadConfig(env: Env = process.env): ReceiverConfig {
  const problems: ConfigError[] = [];
  /** Reads one setting; a problem is noted and a placeholder used, so every problem is found. */
  function read<T>(reader: () => T, placeholder: T): T {
    try {
      return reader();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error);
      return placeholder;
    }
  }
  const config: ReceiverConfig = {
    port: read(() => integer(env, "PORT", 8080, 0, 65535), 0),
    host: read(() => text(env, "HOST", "0.0.0.0"), ""),
    auth: {
      tenantId: read(() => guid(env, "ENTRA_TENANT_ID"), ""),
      clientId: read(() => clientId(env), undefined),
      audiences: read(() => list(env, "ENTRA_AUDIENCES"), []),
      allowedCallers: read(() => list(env, "ENTRA_ALLOWED_CALLERS", AZNS_WEBHOOK_CLIENT_ID).map((c) => c.toLowerCase()), []),
      requiredRole: read(() => text(env, "ENTRA_REQUIRED_ROLE", "ActionGroupsSecureWebhook"), ""),
      readerRole: read(() => text(env, "ENTRA_READER_ROLE", "Incidents.Read"), ""),
      operatorRole: read(() => text(env, "ENTRA_OPERATOR_ROLE", "Incidents.Operate"), ""),
      syncRole: read(() => text(env, "ENTRA_SYNC_ROLE", "Itsm.Sync"), ""),
      authority: read(() => httpUrl(env, "ENTRA_AUTHORITY", "https://login.microsoftonline.com"), ""),
      // Microsoft.IdentityModel's default skew; Entra access tokens live 60-90 minutes.
      clockToleranceSeconds: read(() => integer(env, "ENTRA_CLOCK_TOLERANCE_SECONDS", 300, 0, 3600), 0),
      // Microsoft advises refreshing signing keys about daily. A request with an unknown kid waits up to
      // 8 s for a refetch (auth/signing-keys.ts): on demand at most every 5 s, so it never has to give up.
      keysRefreshSeconds: read(() => integer(env, "ENTRA_KEYS_REFRESH_SECONDS", 86_400, 60, 7 * 86_400), 0),
      keysMinRefetchSeconds: read(() => integer(env, "ENTRA_KEYS_MIN_REFETCH_SECONDS", 5, 0, 60), 0),
    },
    databaseUrl: read(() => databaseUrl(env), undefined),
    databaseAuth: read(() => databaseAuth(env), { kind: "password" }),
    databasePoolMax: read(() => integer(env, "DATABASE_POOL_MAX", 10, 2, 1000), 10),
    dataDir: read(() => text(env, "DATA_DIR", ".data"), ""),
    // Azure caps alert payloads at 256 KB; leave room for growth without accepting arbitrary blobs.
    bodyLimitBytes: read(() => integer(env, "BODY_LIMIT_BYTES", 1_048_576, 1024, 64 * 1_048_576), 0),
    requestTimeoutMs: read(() => integer(env, "REQUEST_TIMEOUT_SECONDS", 30, 1, 3600), 0) * 1000,
    metricsPort: read(() => integer(env, "METRICS_PORT", 9464, 0, 65535), 0),
    trustedProxyHops: read(() => integer(env, "TRUSTED_PROXY_HOPS", 0, 0, 10), 0),
    retentionDays: read(() => integer(env, "RETENTION_DAYS", 90, 0, 36_500), 0),
    logLevel: read(() => logLevel(env), "info"),
    quietPeriods: read(() => quietPeriods(env, "INCIDENT_QUIET_PERIODS"), {}),
    connectors: read(() => connectorsFromEnv(env), []),
    outbox: read(() => outboxConfigFromEnv(env), { maxAgeMs: 0, retryBaseMs: 0, retryMaxMs: 0, concurrency: 1, pollMs: 1000 }),
    routing: noRoutingRules([]),
    noiseTimerMs: read(() => integer(env, "NOISE_TIMER_MS", 5000, 100, 60_000), 5000),
    azure: read(() => azureConfigFromEnv(env), { resourceManager: "", clientId: undefined, alertSync: false, reconcileIntervalMs: null, identityEnv: {}, logEvidence: { enabled: false, endpoint: "", resource: "", waitMs: 0 } }),
    credentialWarnDays: read(() => integer(env, "CREDENTIAL_WARN_DAYS", 14, 1, 365), 14),
    heartbeat: null,
  };
  config.heartbeat = read(() => heartbeatConfigFromEnv(env, config.auth), null);
  const named = new Set(rulesSecretVariables(env));
  for (const kind of CONNECTOR_KINDS) problems.push(...strayConnectorVariables(kind, env, named));
  config.routing = read(() => loadRoutingRules(env, config.connectors), noRoutingRules(config.connectors));
  if (problems.length > 0) throw new ConfigErrors(problems);
  return config;
}
