/**
 * How the receiver reaches Azure as its managed identity (docs/configuration.md#the-closed-loop):
 * the Resource Manager endpoint (sovereign clouds and tests set it), the user-assigned identity,
 * whether incidents closed elsewhere close their Azure alert, how often reconciliation runs, and
 * whether (and where from) log alerts' rows are fetched.
 */
import { ConfigError, duration, guid, httpUrl, onOff, type Env } from "../env.ts";
import { DEFAULT_ARM_ENDPOINT } from "./arm.ts";
import { DEFAULT_LOG_ANALYTICS_ENDPOINT, DEFAULT_LOG_ANALYTICS_RESOURCE, isLoopback } from "./log-analytics.ts";

/** Log evidence (docs/incidents.md#log-evidence): the rows of a log alert, fetched from its link. */
export interface LogEvidenceConfig {
  /** LOG_EVIDENCE; default on when the receiver has a managed identity (AZURE_CLIENT_ID or IDENTITY_ENDPOINT set). */
  enabled: boolean;
  /** LOG_ANALYTICS_ENDPOINT, without a trailing slash: the only host a link may name. */
  endpoint: string;
  /** LOG_ANALYTICS_RESOURCE: the token's audience. */
  resource: string;
  /** EVIDENCE_WAIT: how long a log alert's ticket waits for its rows; 0 when off or when evidence is off. */
  waitMs: number;
}

export interface AzureConfig {
  /** AZURE_RESOURCE_MANAGER_ENDPOINT, without a trailing slash. */
  resourceManager: string;
  /** AZURE_CLIENT_ID: the user-assigned identity; unset: the system-assigned one. */
  clientId: string | undefined;
  /** AZURE_ALERT_SYNC: close (acknowledge) the Azure alert of an incident resolved (acknowledged) elsewhere. */
  alertSync: boolean;
  /** RECONCILE_INTERVAL: how often open incidents are checked against Azure's view; null = off. */
  reconcileIntervalMs: number | null;
  /** IDENTITY_ENDPOINT and IDENTITY_HEADER, as Container Apps sets them (unset elsewhere: the Instance Metadata Service). */
  identityEnv: { IDENTITY_ENDPOINT?: string; IDENTITY_HEADER?: string };
  logEvidence: LogEvidenceConfig;
}

function logEvidenceFromEnv(env: Env): LogEvidenceConfig {
  // Without an identity every fetch would fail (or wait on an unreachable metadata endpoint): off unless asked for.
  const enabled = onOff(env, "LOG_EVIDENCE", Boolean(env.AZURE_CLIENT_ID?.trim() || env.IDENTITY_ENDPOINT?.trim()));
  const endpoint = httpUrl(env, "LOG_ANALYTICS_ENDPOINT", DEFAULT_LOG_ANALYTICS_ENDPOINT);
  const url = new URL(endpoint);
  // Plain http only on loopback (tests): the token would otherwise cross the network in the clear.
  if (url.protocol !== "https:" && !isLoopback(url.hostname)) throw new ConfigError("LOG_ANALYTICS_ENDPOINT", `must be an https URL, got "${endpoint}"`);
  if (url.username || url.password || url.search || url.hash) throw new ConfigError("LOG_ANALYTICS_ENDPOINT", `must be a plain https URL like ${DEFAULT_LOG_ANALYTICS_ENDPOINT}, got "${endpoint}"`);
  const wait = duration(env, "EVIDENCE_WAIT", "5s", { minMs: 1000, maxMs: 60_000, allowOff: true });
  return { enabled, endpoint, resource: httpUrl(env, "LOG_ANALYTICS_RESOURCE", DEFAULT_LOG_ANALYTICS_RESOURCE), waitMs: enabled ? (wait ?? 0) : 0 };
}

export function azureConfigFromEnv(env: Env): AzureConfig {
  return {
    resourceManager: httpUrl(env, "AZURE_RESOURCE_MANAGER_ENDPOINT", DEFAULT_ARM_ENDPOINT),
    clientId: env.AZURE_CLIENT_ID?.trim() ? guid(env, "AZURE_CLIENT_ID") : undefined,
    alertSync: onOff(env, "AZURE_ALERT_SYNC", true),
    // Azure keeps alerts 30 days; more often than a minute would only spend Resource Graph's quota.
    reconcileIntervalMs: duration(env, "RECONCILE_INTERVAL", "15m", { minMs: 60_000, maxMs: 24 * 3_600_000, allowOff: true }),
    identityEnv: {
      ...(env.IDENTITY_ENDPOINT?.trim() ? { IDENTITY_ENDPOINT: env.IDENTITY_ENDPOINT.trim() } : {}),
      ...(env.IDENTITY_HEADER?.trim() ? { IDENTITY_HEADER: env.IDENTITY_HEADER.trim() } : {}),
    },
    logEvidence: logEvidenceFromEnv(env),
  };
}
