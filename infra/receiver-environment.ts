/**
 * The receiver's container environment (DESIGN.md §3 and the connector variables), rendered from
 * the stack's pieces. Pure and generic in the value type, so it is tested with plain strings and
 * used with Pulumi outputs. Secrets go into Container App secrets and are referenced, never inlined.
 */
import type { ConnectorSettings } from "./stack-config.ts";

export const AZNS_WEBHOOK_CLIENT_ID = "461e8683-5575-4561-ac7f-899cc907d62a";
export const WEBHOOK_ROLE = "ActionGroupsSecureWebhook";
export const READER_ROLE = "Incidents.Read";
export const OPERATOR_ROLE = "Incidents.Operate";
export const RECEIVER_PORT = 8080;
export const EMBEDDED_DATA_DIR = "/data";

export type EnvVar<T> = { name: string; value: T } | { name: string; secretRef: string };
export interface ContainerSecret<T> {
  name: string;
  value: T;
}

export interface ReceiverEnvironmentInput<T> {
  tenantId: T;
  /** Every `aud` the receiver accepts: the App ID URI (v1 tokens) and the client id (v2 tokens). */
  appIdUri: T;
  clientId: T;
  database: { mode: "embedded" } | { mode: "postgres"; url: T };
  connectors: ConnectorSettings;
  secrets: { servicenowPassword?: T; servicenowClientSecret?: T; bmcHelixPassword?: T };
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

  plain("PORT", String(RECEIVER_PORT));
  plain("HOST", "0.0.0.0");
  plain("ENTRA_TENANT_ID", input.tenantId);
  plain("ENTRA_AUDIENCES", input.join([input.appIdUri, ",", input.clientId]));
  plain("ENTRA_ALLOWED_CALLERS", AZNS_WEBHOOK_CLIENT_ID);
  plain("ENTRA_REQUIRED_ROLE", WEBHOOK_ROLE);
  plain("ENTRA_READER_ROLE", READER_ROLE);
  plain("ENTRA_OPERATOR_ROLE", OPERATOR_ROLE);
  if (input.database.mode === "postgres") secret("DATABASE_URL", "database-url", input.database.url);
  else plain("DATA_DIR", EMBEDDED_DATA_DIR);

  const sn = input.connectors.serviceNow;
  if (sn) {
    plain("SERVICENOW_URL", sn.url);
    plain("SERVICENOW_MODE", sn.mode);
    if (sn.auth === "oauth") {
      plain("SERVICENOW_CLIENT_ID", sn.clientId!);
      secret("SERVICENOW_CLIENT_SECRET", "servicenow-client-secret", input.secrets.servicenowClientSecret);
    } else {
      plain("SERVICENOW_USERNAME", sn.username!);
      secret("SERVICENOW_PASSWORD", "servicenow-password", input.secrets.servicenowPassword);
    }
  }
  const bmc = input.connectors.bmcHelix;
  if (bmc) {
    plain("BMC_HELIX_URL", bmc.url);
    plain("BMC_HELIX_USERNAME", bmc.username);
    plain("BMC_HELIX_FIRST_NAME", bmc.firstName);
    plain("BMC_HELIX_LAST_NAME", bmc.lastName);
    secret("BMC_HELIX_PASSWORD", "bmc-helix-password", input.secrets.bmcHelixPassword);
  }
  for (const [name, value] of Object.entries(input.connectors.extraEnvironment)) {
    if (env.some((e) => e.name === name)) throw new Error(`secure-export:receiverEnvironment must not override ${name}, which the stack sets`);
    plain(name, value);
  }
  return { env, secrets };
}
