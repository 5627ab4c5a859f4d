/**
 * secure-export: the whole deployment for one environment (one stack). `pulumi up` creates the
 * Entra application and its role assignment, the receiver in Azure Container Apps with its
 * database, and the action group whose secure webhook posts to it; `pulumi destroy` removes all
 * of it except the tenant's shared AzNS AAD Webhook service principal.
 */
import * as azureAuthorization from "@pulumi/azure-native/authorization/index.js";
import * as resources from "@pulumi/azure-native/resources/index.js";
import * as azuread from "@pulumi/azuread";
import * as pulumi from "@pulumi/pulumi";
import { AlertRouting } from "./alert-routing.ts";
import { Database } from "./database.ts";
import { renderReceiverEnvironment } from "./receiver-environment.ts";
import { ReceiverService } from "./receiver-service.ts";
import { CONFIG_KEYS, SECRET_KEYS, parseStackConfig, type RawConfig, type SecretKey } from "./stack-config.ts";
import { WebhookIdentity } from "./webhook-identity.ts";

const config = new pulumi.Config("secure-export");
const raw: RawConfig = Object.fromEntries(CONFIG_KEYS.map((key) => [key, config.get(key)]));
const secretValues = Object.fromEntries(SECRET_KEYS.flatMap((key) => {
  const value = config.getSecret(key);
  return value === undefined ? [] : [[key, value]];
})) as Partial<Record<SecretKey, pulumi.Output<string>>>;
const settings = parseStackConfig(pulumi.getStack(), raw, new Set(Object.keys(secretValues) as SecretKey[]));

const azureClient = azureAuthorization.getClientConfigOutput();
const entraClient = azuread.getClientConfigOutput();
const base = `${settings.namePrefix}-${settings.stack}`;

const resourceGroup = new resources.ResourceGroup(base, { location: settings.location, tags: { "secure-export-stack": settings.stack } });

const identity = new WebhookIdentity(base, {
  displayName: `secure-export (${settings.stack})`,
  deployerObjectId: entraClient.objectId,
  protect: settings.protect,
});

const database = new Database(base, {
  mode: settings.databaseMode,
  resourceGroupName: resourceGroup.name,
  location: resourceGroup.location,
  sku: settings.postgresSku,
  version: settings.postgresVersion,
  protect: settings.protect,
});

const environment = renderReceiverEnvironment<pulumi.Input<string>>({
  tenantId: entraClient.tenantId,
  appIdUri: identity.appIdUri,
  clientId: identity.clientId,
  database: database.connectionString ? { mode: "postgres", url: database.connectionString } : { mode: "embedded" },
  connectors: settings.connectors,
  secrets: secretValues,
  join: (parts) => pulumi.concat(...parts),
});

const receiver = new ReceiverService(base, {
  resourceGroupName: resourceGroup.name,
  location: resourceGroup.location,
  subscriptionId: azureClient.subscriptionId,
  ...(settings.image ? { image: settings.image } : {}),
  ...(settings.imageRegistryId ? { imageRegistryId: settings.imageRegistryId } : {}),
  env: environment.env,
  secrets: environment.secrets,
  minReplicas: settings.minReplicas,
  maxReplicas: settings.maxReplicas,
  embeddedStore: settings.databaseMode === "embedded",
});

const routing = new AlertRouting(base, {
  resourceGroupName: resourceGroup.name,
  shortName: settings.actionGroupShortName,
  webhookUrl: receiver.webhookUrl,
  applicationObjectId: identity.applicationObjectId,
  identifierUri: identity.appIdUri,
  tenantId: entraClient.tenantId,
  dependsOn: [identity.webhookRoleAssignment],
  ...(settings.exampleAlertRules
    ? { examples: { containerAppId: receiver.containerApp.id, resourceGroupId: resourceGroup.id, workspaceId: receiver.workspace.id, location: resourceGroup.location } }
    : {}),
});

export const webhookUrl = receiver.webhookUrl;
export const receiverFqdn = receiver.fqdn;
export const appIdUri = identity.appIdUri;
export const clientId = identity.clientId;
export const applicationObjectId = identity.applicationObjectId;
export const tenantId = entraClient.tenantId;
export const actionGroupId = routing.actionGroup.id;
export const resourceGroupName = resourceGroup.name;
export const image = receiver.imageRef;
export const databaseMode = settings.databaseMode;
