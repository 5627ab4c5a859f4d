/** Receiver configuration, read from the environment alone (README.md#running-the-receiver-in-production). */
import { ConfigError, guid, httpUrl, integer, list, text, type Env } from "./env.ts";
import { loadConnectorsConfig, type ConnectorsConfig, type OutboxConfig } from "./connectors/connector-config.ts";

export { ConfigError };

export const AZNS_WEBHOOK_CLIENT_ID = "461e8683-5575-4561-ac7f-899cc907d62a";

export interface AuthConfig {
  tenantId: string;
  audiences: string[];
  allowedCallers: string[];
  requiredRole: string;
  readerRole: string;
  operatorRole: string;
  /** The application's client id (ENTRA_CLIENT_ID): the web console signs users in as this client; unset = no console sign-in. */
  clientId: string | undefined;
  /** Authority host without a trailing slash, e.g. https://login.microsoftonline.com. */
  authority: string;
  clockToleranceSeconds: number;
  keysRefreshSeconds: number;
  keysMinRefetchSeconds: number;
}

/** Signal families Azure never resolves; each may auto-resolve after a quiet period. */
export const STATELESS_FAMILIES = ["log", "activity-log", "service-health", "resource-health", "smart-detector", "budget", "unknown"] as const;
export type StatelessFamily = (typeof STATELESS_FAMILIES)[number];

export interface ReceiverConfig {
  port: number;
  host: string;
  auth: AuthConfig;
  databaseUrl: string | undefined;
  dataDir: string;
  bodyLimitBytes: number;
  logLevel: string;
  /** Quiet period per stateless family, in ms. Unlisted families stay open until an operator resolves them. */
  quietPeriods: Partial<Record<StatelessFamily, number>>;
  connectors: ConnectorsConfig["connectors"];
  outbox: OutboxConfig;
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
function quietPeriods(env: Env, name: string): Partial<Record<StatelessFamily, number>> {
  const raw = env[name]?.trim();
  const result: Partial<Record<StatelessFamily, number>> = {};
  if (!raw) return result;
  for (const entry of raw.split(",").map((e) => e.trim()).filter(Boolean)) {
    const match = /^([a-z-]+)=(\d+)([smhd])$/.exec(entry);
    const family = match?.[1] as StatelessFamily | undefined;
    if (!match || !family || !STATELESS_FAMILIES.includes(family) || Number(match[2]) === 0) {
      throw new ConfigError(name, `entry "${entry}" must be family=duration with family one of ${STATELESS_FAMILIES.join(", ")} and a duration like 30m, 4h or 7d`);
    }
    result[family] = Number(match[2]) * (UNIT_MS[match[3]!] as number);
  }
  return result;
}

export function loadConfig(env: Env = process.env): ReceiverConfig {
  return {
    port: integer(env, "PORT", 8080, 0, 65535),
    host: text(env, "HOST", "0.0.0.0"),
    auth: {
      tenantId: guid(env, "ENTRA_TENANT_ID"),
      audiences: list(env, "ENTRA_AUDIENCES"),
      allowedCallers: list(env, "ENTRA_ALLOWED_CALLERS", AZNS_WEBHOOK_CLIENT_ID).map((c) => c.toLowerCase()),
      requiredRole: text(env, "ENTRA_REQUIRED_ROLE", "ActionGroupsSecureWebhook"),
      readerRole: text(env, "ENTRA_READER_ROLE", "Incidents.Read"),
      operatorRole: text(env, "ENTRA_OPERATOR_ROLE", "Incidents.Operate"),
      clientId: clientId(env),
      authority: httpUrl(env, "ENTRA_AUTHORITY", "https://login.microsoftonline.com"),
      // Microsoft.IdentityModel's default skew; Entra access tokens live 60-90 minutes.
      clockToleranceSeconds: integer(env, "ENTRA_CLOCK_TOLERANCE_SECONDS", 300, 0, 3600),
      // Microsoft advises refreshing signing keys about daily and on an unknown kid at most every 5 minutes.
      keysRefreshSeconds: integer(env, "ENTRA_KEYS_REFRESH_SECONDS", 86_400, 60, 7 * 86_400),
      keysMinRefetchSeconds: integer(env, "ENTRA_KEYS_MIN_REFETCH_SECONDS", 300, 0, 86_400),
    },
    databaseUrl: env.DATABASE_URL?.trim() || undefined,
    dataDir: text(env, "DATA_DIR", ".data"),
    // Azure caps alert payloads at 256 KB; leave room for growth without accepting arbitrary blobs.
    bodyLimitBytes: integer(env, "BODY_LIMIT_BYTES", 1_048_576, 1024, 64 * 1_048_576),
    logLevel: text(env, "LOG_LEVEL", "info"),
    quietPeriods: quietPeriods(env, "INCIDENT_QUIET_PERIODS"),
    ...loadConnectorsConfig(env),
  };
}
