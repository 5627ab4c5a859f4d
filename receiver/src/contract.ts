/**
 * The contract between the receiver and whatever deploys it (the Pulumi program in infra/, the
 * local stack, tests): identities, role names, variable names and fixed values. Imports nothing,
 * so the Pulumi program can use it without pulling in any receiver dependency.
 */

/** The tenant-wide "AzNS AAD Webhook" application every action group's secure webhook signs in as. */
export const AZNS_WEBHOOK_CLIENT_ID = "461e8683-5575-4561-ac7f-899cc907d62a";
/** The Azure CLI's public client: pre-authorized for our delegated scope, so `az account get-access-token` works without consent. */
export const AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/** App roles of our application, by what they allow. */
export const ROLES = {
  webhook: "ActionGroupsSecureWebhook",
  reader: "Incidents.Read",
  operator: "Incidents.Operate",
  /** An ITSM's client application pushing ticket changes: a separate door from the secure webhook. */
  sync: "Itsm.Sync",
} as const;

/** The delegated scope the application exposes on `api://{clientId}` (user tokens for the read API and console). */
export const DELEGATED_SCOPE = "user_impersonation";

export const RECEIVER_PORT = 8080;
/** The console's path; its redirect URI is `https://{host}${CONSOLE_PATH}`. */
export const CONSOLE_PATH = "/console/";
/** Where /docs (Swagger UI) receives the sign-in's answer: a second redirect URI of the same public client. */
export const DOCS_REDIRECT_PATH = "/docs/static/oauth2-redirect.html";

/** `DATABASE_AUTH` value: connect to PostgreSQL with a Microsoft Entra token of the managed identity. */
export const DATABASE_AUTH_MANAGED_IDENTITY = "azure-managed-identity";
/** The token audience of Azure Database for PostgreSQL's Microsoft Entra authentication. */
export const POSTGRES_ENTRA_RESOURCE = "https://ossrdbms-aad.database.windows.net";

/** The Log Analytics API of Azure's public cloud: the one host log alerts' links may name by default (docs/incidents.md#log-evidence). */
export const LOG_ANALYTICS_PUBLIC_ENDPOINT = "https://api.loganalytics.io";

/** Environment variables the deployment sets and the receiver reads. */
export const ENV = {
  port: "PORT",
  host: "HOST",
  tenantId: "ENTRA_TENANT_ID",
  audiences: "ENTRA_AUDIENCES",
  clientId: "ENTRA_CLIENT_ID",
  allowedCallers: "ENTRA_ALLOWED_CALLERS",
  requiredRole: "ENTRA_REQUIRED_ROLE",
  readerRole: "ENTRA_READER_ROLE",
  operatorRole: "ENTRA_OPERATOR_ROLE",
  syncRole: "ENTRA_SYNC_ROLE",
  resourceManagerEndpoint: "AZURE_RESOURCE_MANAGER_ENDPOINT",
  alertSync: "AZURE_ALERT_SYNC",
  reconcileInterval: "RECONCILE_INTERVAL",
  databaseUrl: "DATABASE_URL",
  databaseAuth: "DATABASE_AUTH",
  databasePoolMax: "DATABASE_POOL_MAX",
  azureClientId: "AZURE_CLIENT_ID",
  logEvidence: "LOG_EVIDENCE",
  logAnalyticsEndpoint: "LOG_ANALYTICS_ENDPOINT",
  dataDir: "DATA_DIR",
  heartbeatActionGroupId: "HEARTBEAT_ACTION_GROUP_ID",
  publicUrl: "PUBLIC_URL",
  appObjectId: "ENTRA_APP_OBJECT_ID",
} as const;
