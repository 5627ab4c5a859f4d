/**
 * The receiver's container environment (docs/configuration.md#running-the-receiver-in-production and the
 * connector variables), rendered from the stack's pieces. Pure and generic in the value type, so it
 * is tested with plain strings and used with Pulumi outputs. Secrets go into Container App secrets
 * and are referenced, never inlined.
 */
import { AZNS_WEBHOOK_CLIENT_ID, DATABASE_AUTH_MANAGED_IDENTITY, ENV, LOG_ANALYTICS_PUBLIC_ENDPOINT, RECEIVER_PORT, ROLES } from "../receiver/src/contract.ts";
import { connectorVariable, ROUTING_RULES } from "../receiver/src/routing/check.ts";
import type { RoutingSecret } from "./routing-config.ts";
import { StackConfigError } from "./stack-config-error.ts";
import { SECRET_VARIABLES, type ConnectorSettings } from "./stack-config.ts";

export const EMBEDDED_DATA_DIR = "/data";
/**
 * Where the receiver serves Prometheus metrics (its METRICS_PORT; docs/operations.md#operations): set
 * explicitly, so the collector sidecar's scrape target cannot drift from a changed default.
 */
export const METRICS_PORT = 9464;
/** Container Apps' ingress (Envoy) is the one proxy in front, appending X-Forwarded-For. */
export const TRUSTED_PROXY_HOPS = 1;

export type EnvVar<T> = { name: string; value: T } | { name: string; secretRef: string };
export interface ContainerSecret<T> {
  name: string;
  value: T;
}

/** PostgreSQL through Microsoft Entra: the URL names the identity as user, and carries no password. */
export interface PostgresConnection<T> {
  mode: "postgres";
  url: T;
  /** Client id of the user-assigned identity whose token is the password. */
  identityClientId: T;
  poolMax: number;
}

export interface ReceiverEnvironmentInput<T> {
  tenantId: T;
  /** Every `aud` the receiver accepts: the App ID URI (v1 tokens) and the client id (v2 tokens). */
  appIdUri: T;
  clientId: T;
  database: { mode: "embedded" } | PostgresConnection<T>;
  /**
   * The closed loop: the receiver's user-assigned identity (its ARM token for the alert write-back
   * and reconciliation; with PostgreSQL the database's identity, the same one), AZURE_ALERT_SYNC, and
   * LOG_EVIDENCE (on when the stack grants it workspaces to query).
   */
  azure?: { identityClientId: T; alertSync: boolean; logEvidence?: boolean };
  /**
   * The heartbeat (docs/configuration.md#the-heartbeat): the stack's own action group, the receiver's
   * public URL and the application's object id. Unset (a stack on a shared application, which the
   * receiver's identity cannot own): no heartbeat.
   */
  heartbeat?: { actionGroupId: T; publicUrl: T; appObjectId: T };
  connectors: ConnectorSettings;
  secrets: { servicenowPassword?: T; servicenowClientSecret?: T; bmcHelixPassword?: T };
  /** ROUTING_RULES text (stack-config.ts checked it), and the secrets its connectors name. */
  routing?: { rules: string | undefined; secrets: readonly RoutingSecret<T>[] };
  /** Joins values into one (e.g. pulumi.interpolate for outputs). */
  join: (parts: readonly (T | string)[]) => T;
}

export function renderReceiverEnvironment<T>(input: ReceiverEnvironmentInput<T>): { env: EnvVar<T>[]; secrets: ContainerSecret<T>[] } {
  const env: EnvVar<T>[] = [];
  const secrets: ContainerSecret<T>[] = [];
  const plain = (name: string, value: T | string) => env.push({ name, value: value as T });
  const secret = (name: string, secretName: string, value: T | undefined) => {
    if (value === undefined) return;
    secrets.push({ name: secretName, value });
    env.push({ name, secretRef: secretName });
  };

  plain(ENV.port, String(RECEIVER_PORT));
  plain(ENV.host, "0.0.0.0");
  plain("METRICS_PORT", String(METRICS_PORT));
  plain("TRUSTED_PROXY_HOPS", String(TRUSTED_PROXY_HOPS));
  plain(ENV.tenantId, input.tenantId);
  plain(ENV.audiences, input.join([input.appIdUri, ",", input.clientId]));
  plain(ENV.clientId, input.clientId);
  plain(ENV.allowedCallers, AZNS_WEBHOOK_CLIENT_ID);
  plain(ENV.requiredRole, ROLES.webhook);
  plain(ENV.readerRole, ROLES.reader);
  plain(ENV.operatorRole, ROLES.operator);
  if (input.database.mode === "postgres") {
    plain(ENV.databaseUrl, input.database.url);
    plain(ENV.databaseAuth, DATABASE_AUTH_MANAGED_IDENTITY);
    plain(ENV.azureClientId, input.database.identityClientId);
    plain(ENV.databasePoolMax, String(input.database.poolMax));
  } else {
    plain(ENV.dataDir, EMBEDDED_DATA_DIR);
  }
  if (input.azure) {
    if (input.database.mode !== "postgres") plain(ENV.azureClientId, input.azure.identityClientId);
    plain(ENV.alertSync, input.azure.alertSync ? "on" : "off");
    // On only where the stack grants the identity a workspace to query (evidenceWorkspaces): elsewhere every fetch would be a 403.
    plain(ENV.logEvidence, input.azure.logEvidence ? "on" : "off");
    plain(ENV.logAnalyticsEndpoint, LOG_ANALYTICS_PUBLIC_ENDPOINT);
    plain(ENV.syncRole, ROLES.sync);
  }
  if (input.heartbeat) {
    plain(ENV.heartbeatActionGroupId, input.heartbeat.actionGroupId);
    plain(ENV.publicUrl, input.heartbeat.publicUrl);
    plain(ENV.appObjectId, input.heartbeat.appObjectId);
  }

  const sn = input.connectors.serviceNow;
  if (sn) {
    const variable = (key: string) => connectorVariable("servicenow", key);
    plain(variable("url"), sn.url);
    plain(variable("mode"), sn.mode);
    if (sn.auth === "oauth") {
      plain(variable("clientId"), sn.clientId!);
      secret(SECRET_VARIABLES.servicenowClientSecret.variable, SECRET_VARIABLES.servicenowClientSecret.secretName, input.secrets.servicenowClientSecret);
    } else {
      plain(variable("username"), sn.username!);
      secret(SECRET_VARIABLES.servicenowPassword.variable, SECRET_VARIABLES.servicenowPassword.secretName, input.secrets.servicenowPassword);
    }
    if (sn.credentialExpiresAt) plain(variable("credentialExpiresAt"), sn.credentialExpiresAt);
  }
  const bmc = input.connectors.bmcHelix;
  if (bmc) {
    const variable = (key: string) => connectorVariable("bmc-helix", key);
    plain(variable("url"), bmc.url);
    plain(variable("username"), bmc.username);
    plain(variable("firstName"), bmc.firstName);
    plain(variable("lastName"), bmc.lastName);
    if (bmc.credentialExpiresAt) plain(variable("credentialExpiresAt"), bmc.credentialExpiresAt);
    secret(SECRET_VARIABLES.bmcHelixPassword.variable, SECRET_VARIABLES.bmcHelixPassword.secretName, input.secrets.bmcHelixPassword);
  }
  if (input.routing?.rules !== undefined) plain(ROUTING_RULES, input.routing.rules);
  for (const routingSecret of input.routing?.secrets ?? []) {
    if (env.some((e) => e.name === routingSecret.variable)) throw new StackConfigError("routingSecrets", `must not set ${routingSecret.variable}, which the stack sets`);
    secret(routingSecret.variable, routingSecret.secretName, routingSecret.value);
  }
  for (const [name, value] of Object.entries(input.connectors.extraEnvironment)) {
    if (env.some((e) => e.name === name)) throw new StackConfigError("receiverEnvironment", `must not override ${name}, which the stack sets`);
    plain(name, value);
  }
  return { env, secrets };
}
