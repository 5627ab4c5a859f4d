/**
 * How the receiver reaches Azure as its managed identity (docs/configuration.md#the-closed-loop):
 * the Resource Manager endpoint (sovereign clouds and tests set it), the user-assigned identity,
 * whether incidents closed elsewhere close their Azure alert, and how often reconciliation runs.
 */
import { duration, guid, httpUrl, onOff, type Env } from "../env.ts";
import { DEFAULT_ARM_ENDPOINT } from "./arm.ts";

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
  };
}
