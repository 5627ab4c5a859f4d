/**
 * secure-export: the whole deployment for one environment (one stack). `pulumi up` creates the
 * Entra application and its role assignments (or reads a shared one from another stack), the
 * receiver in Azure Container Apps with its private PostgreSQL database, and the action group whose
 * secure webhook posts to it. `pulumi destroy` removes all of it; the tenant's shared AzNS AAD
 * Webhook service principal is only ever read.
 *
 * With `secure-export:identityOnly` the stack is just the Entra application that preview stacks
 * share (stack preview-identity), with `sharedEnvironment` also the Container Apps environment they
 * all run in.
 */
import * as azureAuthorization from "@pulumi/azure-native/authorization/index.js";
import * as managedidentity from "@pulumi/azure-native/managedidentity/index.js";
import * as resources from "@pulumi/azure-native/resources/index.js";
import * as azuread from "@pulumi/azuread";
import * as pulumi from "@pulumi/pulumi";
import { CONSOLE_PATH, DOCS_REDIRECT_PATH } from "../receiver/src/contract.ts";
import { AlertRouting, actionGroupResourceId } from "./alert-routing.ts";
import { AppEnvironment } from "./app-environment.ts";
import { Database } from "./database.ts";
import { metricsComponent } from "./metrics-collector.ts";
import { PrivateNetwork } from "./network.ts";
import { renderReceiverEnvironment, type ReceiverEnvironmentInput } from "./receiver-environment.ts";
import { ReceiverService } from "./receiver-service.ts";
import { parseRoutingSecrets, routingRuleWarnings } from "./routing-config.ts";
import { CONFIG_KEYS, ROUTING_SECRETS_KEY, SECRET_KEYS, parseStackConfig, type RawConfig, type SecretKey } from "./stack-config.ts";
import { AlertSyncAccess } from "./closed-loop.ts";
import { HeartbeatAccess } from "./heartbeat.ts";
import { LogEvidenceAccess } from "./log-evidence.ts";
import { WebhookIdentity } from "./webhook-identity.ts";

const config = new pulumi.Config("secure-export");
const raw: RawConfig = Object.fromEntries(CONFIG_KEYS.map((key) => [key, config.get(key)]));
const secretValues = Object.fromEntries(SECRET_KEYS.flatMap((key) => {
  const value = config.getSecret(key);
  return value === undefined ? [] : [[key, value]];
})) as Partial<Record<SecretKey, pulumi.Output<string>>>;
// config.getSecret would hand over the same text (the object as JSON, every `secure` leaf decrypted)
// as one opaque secret; the variable names must be known now, before any resource is registered,
// so the text is read here and each value is marked secret on its own.
const routingSecrets = parseRoutingSecrets(config.get(ROUTING_SECRETS_KEY)).map((s) => ({ ...s, value: pulumi.secret(s.value) }));
const settings = parseStackConfig(pulumi.getStack(), raw, new Set(Object.keys(secretValues) as SecretKey[]), routingSecrets.map((s) => s.variable));
for (const warning of routingRuleWarnings(raw.routing)) pulumi.log.warn(warning);

/** The receiver's environment, minus what only exists once the database does. */
function environmentInput(
  database: ReceiverEnvironmentInput<pulumi.Input<string>>["database"],
  ids: { tenantId: pulumi.Input<string>; appIdUri: pulumi.Input<string>; clientId: pulumi.Input<string> },
  identityClientId: pulumi.Input<string> = "",
  heartbeat?: ReceiverEnvironmentInput<pulumi.Input<string>>["heartbeat"],
): ReceiverEnvironmentInput<pulumi.Input<string>> {
  return {
    ...ids,
    database,
    azure: { identityClientId, alertSync: settings.closedLoop.alertSync, logEvidence: settings.evidenceWorkspaces.length > 0 },
    ...(heartbeat ? { heartbeat } : {}),
    connectors: settings.connectors,
    secrets: secretValues,
    routing: { rules: settings.routingRules, secrets: routingSecrets },
    join: (parts) => pulumi.concat(...parts),
  };
}
// Rendered once with placeholders before any resource exists: a variable the stack sets twice
// (receiverEnvironment, routingSecrets) is refused at preview, before anything is created.
if (!settings.identityOnly) {
  const placeholder = settings.postgres ? { mode: "postgres" as const, url: "", identityClientId: "", poolMax: settings.postgres.poolMax } : { mode: "embedded" as const };
  renderReceiverEnvironment(environmentInput(placeholder, { tenantId: "", appIdUri: "", clientId: "" }, "", { actionGroupId: "", publicUrl: "", appObjectId: "" }));
}

const entraClient = azuread.getClientConfigOutput();
const { base } = settings.names;

/** The application preview stacks share: its ids, as the identity-only stack exports them. */
interface ApplicationIds {
  clientId: pulumi.Output<string>;
  appIdUri: pulumi.Output<string>;
  applicationObjectId: pulumi.Output<string>;
  servicePrincipalObjectId: pulumi.Output<string>;
  tenantId: pulumi.Output<string>;
}

function ownIdentity(signInRedirectUris?: pulumi.Input<string>[], serviceOwners?: pulumi.Input<string>[]): { ids: ApplicationIds; ready: pulumi.Resource[] } {
  if (settings.identity.kind !== "own") throw new Error("unreachable: ownIdentity without an own identity");
  const identity = new WebhookIdentity(base, {
    displayName: `secure-export (${settings.stack})`,
    deployerObjectId: entraClient.objectId,
    owners: settings.identity.owners,
    readers: settings.identity.readers,
    operators: settings.identity.operators,
    itsmSyncClients: settings.closedLoop.itsmSyncClients,
    ...(signInRedirectUris ? { signInRedirectUris } : {}),
    ...(serviceOwners ? { serviceOwners } : {}),
    protect: settings.protect || settings.identityOnly,
  });
  return {
    ids: {
      clientId: identity.clientId,
      appIdUri: identity.appIdUri,
      applicationObjectId: identity.applicationObjectId,
      servicePrincipalObjectId: identity.servicePrincipalObjectId,
      tenantId: entraClient.tenantId,
    },
    ready: identity.ready,
  };
}

/** Where a Container App runs: its environment, the environment's domain and Log Analytics workspace. */
interface Environment {
  id: pulumi.Output<string>;
  defaultDomain: pulumi.Output<string>;
  workspaceId: pulumi.Output<string>;
}

/** The application and the environment preview stacks share, as the identity-only stack exports them. */
function sharedStack(stack: string): { ids: ApplicationIds; environment: Environment } {
  const shared = new pulumi.StackReference(stack);
  const id = (name: string) => shared.requireOutput(name).apply((value) => String(value));
  const environmentOutput = (name: string) =>
    shared.getOutput(name).apply((value) => {
      if (value === undefined || value === null || value === "") {
        throw new Error(`secure-export:identityStack ${stack} exports no ${name}: set secure-export:sharedEnvironment true on it and run pulumi up there once (docs/deploy/pulumi.md, "Preview stacks and teardown")`);
      }
      return String(value);
    });
  const environment = { id: environmentOutput("environmentId"), defaultDomain: environmentOutput("environmentDefaultDomain"), workspaceId: environmentOutput("workspaceId") };
  const tenantId = pulumi.all([id("tenantId"), entraClient.tenantId]).apply(([theirs, ours]) => {
    if (theirs.toLowerCase() !== ours.toLowerCase()) throw new Error(`secure-export:identityStack ${stack} is in tenant ${theirs}, this stack deploys to ${ours}`);
    return ours;
  });
  return { ids: { clientId: id("clientId"), appIdUri: id("appIdUri"), applicationObjectId: id("applicationObjectId"), servicePrincipalObjectId: id("servicePrincipalObjectId"), tenantId }, environment };
}

function stackResourceGroup(retainOnDelete: boolean): { resourceGroup: resources.ResourceGroup; rg: { resourceGroupName: pulumi.Output<string>; location: pulumi.Output<string> } } {
  const resourceGroup = new resources.ResourceGroup(base, { location: settings.location, tags: { "secure-export-stack": settings.stack } }, { retainOnDelete });
  return { resourceGroup, rg: { resourceGroupName: resourceGroup.name, location: resourceGroup.location } };
}

/** The identity-only stack's environment for preview stacks: no private network (they use no server). */
function previewEnvironment(): Record<string, pulumi.Input<unknown>> {
  const { rg } = stackResourceGroup(false);
  const environment = new AppEnvironment(base, rg);
  return { environmentId: environment.environment.id, environmentDefaultDomain: environment.defaultDomain, workspaceId: environment.workspace.id };
}

function receiverStack(): Record<string, pulumi.Input<unknown>> {
  const azureClient = azureAuthorization.getClientConfigOutput();
  // With a private network the group outlives `pulumi destroy`, holding only the network that Azure
  // releases late (network.ts): one outcome, a destroy that completes, and a clean-up command.
  const { resourceGroup, rg } = stackResourceGroup(settings.postgres !== undefined);
  // Created first: the app runs as it, and its name is its database role (data rights only).
  const receiverIdentity = new managedidentity.UserAssignedIdentity(base, rg);
  // The server's Entra administrator: only the migration job runs as it (migration-job.ts).
  const databaseAdministrator = settings.postgres ? new managedidentity.UserAssignedIdentity(`${base}-db-admin`, rg) : undefined;

  const network = settings.postgres ? new PrivateNetwork(base, { ...rg, privateDnsZoneName: settings.names.privateDnsZone, retainOnDelete: true }) : undefined;
  const shared = settings.identity.kind === "shared" ? sharedStack(settings.identity.stack) : undefined;
  // A stack on the shared application runs in the shared environment: no environment of its own.
  const appEnvironment: Environment = shared
    ? shared.environment
    : (() => {
        const own = new AppEnvironment(base, { ...rg, ...(network ? { subnetId: network.containerAppsSubnetId } : {}) });
        return { id: own.environment.id, defaultDomain: own.defaultDomain, workspaceId: own.workspace.id };
      })();
  const receiverFqdn = pulumi.interpolate`${settings.names.containerApp}.${appEnvironment.defaultDomain}`;
  const consoleUrl = pulumi.interpolate`https://${receiverFqdn}${CONSOLE_PATH}`;
  const docsRedirectUrl = pulumi.interpolate`https://${receiverFqdn}${DOCS_REDIRECT_PATH}`;

  // A preview stack's shared application cannot list every preview's host: no console redirect there.
  // The receiver's identity owns the stack's own application, so it may test the secure webhook (the
  // heartbeat). A shared application belongs to the identity stack: no heartbeat on preview stacks.
  const identity = shared ? { ids: shared.ids, ready: [] } : ownIdentity([consoleUrl, docsRedirectUrl], [receiverIdentity.principalId]);
  // Named, so the receiver can be told its id before it exists (the group waits for the receiver).
  const actionGroupId = actionGroupResourceId(azureClient.subscriptionId, resourceGroup.name, settings.names.actionGroup);
  const heartbeat = shared ? undefined : { actionGroupId, publicUrl: pulumi.interpolate`https://${receiverFqdn}`, appObjectId: identity.ids.applicationObjectId };

  const database = settings.postgres && network && databaseAdministrator
    ? new Database(base, {
        ...rg,
        settings: settings.postgres,
        tenantId: identity.ids.tenantId,
        subnetId: network.postgresSubnetId,
        privateDnsZoneId: network.postgresDnsZone.id,
        networkReady: [network.postgresDnsLink],
        administrator: { principalId: databaseAdministrator.principalId, name: databaseAdministrator.name },
        user: { name: receiverIdentity.name },
        protect: settings.protect,
      })
    : undefined;

  const environment = renderReceiverEnvironment(
    environmentInput(
      database && settings.postgres
        ? { mode: "postgres", url: database.connectionString, identityClientId: receiverIdentity.clientId, poolMax: settings.postgres.poolMax }
        : { mode: "embedded" },
      { tenantId: identity.ids.tenantId, appIdUri: identity.ids.appIdUri, clientId: identity.ids.clientId },
      receiverIdentity.clientId,
      heartbeat,
    ),
  );
  // The closed loop: the receiver's identity reads alerts and changes their state, nothing more.
  if (settings.closedLoop.alertSync) {
    new AlertSyncAccess(base, {
      principalId: receiverIdentity.principalId,
      scopes: settings.closedLoop.alertSyncScopes.length ? settings.closedLoop.alertSyncScopes : [pulumi.interpolate`/subscriptions/${azureClient.subscriptionId}`],
      stack: settings.stack,
    });
  }
  // Log evidence: the identity queries the configured workspaces' logs, nothing more.
  if (settings.evidenceWorkspaces.length > 0) new LogEvidenceAccess(base, { principalId: receiverIdentity.principalId, workspaces: settings.evidenceWorkspaces });
  const metrics = settings.metrics ? metricsComponent(base, { ...rg, workspaceId: appEnvironment.workspaceId }) : undefined;

  const receiver = new ReceiverService(base, {
    ...rg,
    subscriptionId: azureClient.subscriptionId,
    environmentId: appEnvironment.id,
    containerAppName: settings.names.containerApp,
    registryName: settings.names.registry,
    identity: { id: receiverIdentity.id, principalId: receiverIdentity.principalId },
    ...(settings.image ? { image: settings.image } : {}),
    ...(settings.imageRegistryId ? { imageRegistryId: settings.imageRegistryId } : {}),
    env: environment.env,
    secrets: environment.secrets,
    minReplicas: settings.minReplicas,
    maxReplicas: settings.maxReplicas,
    embeddedStore: settings.databaseMode === "embedded",
    ...(metrics ? { metrics: { connectionString: metrics.connectionString } } : {}),
    dependsOn: [...(network ? [network] : []), ...(database?.ready ?? [])],
    ...(database && databaseAdministrator
      ? {
          migration: {
            administrator: { id: databaseAdministrator.id, principalId: databaseAdministrator.principalId, clientId: databaseAdministrator.clientId },
            administratorConnectionString: database.administratorConnectionString,
            receiverRole: receiverIdentity.name,
          },
        }
      : {}),
  });
  const webhookUrl = pulumi.interpolate`https://${receiverFqdn}/api/alerts`;

  const routing = new AlertRouting(base, {
    resourceGroupName: resourceGroup.name,
    actionGroupName: settings.names.actionGroup,
    shortName: settings.actionGroupShortName,
    webhookUrl,
    applicationObjectId: identity.ids.applicationObjectId,
    identifierUri: identity.ids.appIdUri,
    tenantId: identity.ids.tenantId,
    // The receiver must be up before Azure Monitor is pointed at it.
    dependsOn: [receiver.containerApp, ...identity.ready],
    ...(settings.exampleAlertRules
      ? { examples: { containerAppId: receiver.containerApp.id, resourceGroupId: resourceGroup.id, workspaceId: appEnvironment.workspaceId, location: resourceGroup.location } }
      : {}),
  });

  if (heartbeat) new HeartbeatAccess(base, { principalId: receiverIdentity.principalId, resourceGroupId: resourceGroup.id, actionGroupId: routing.actionGroup.id, stack: settings.stack });

  return {
    webhookUrl,
    receiverFqdn,
    consoleUrl,
    ...identity.ids,
    actionGroupId: routing.actionGroup.id,
    resourceGroupName: resourceGroup.name,
    image: receiver.imageRef,
    databaseMode: settings.databaseMode,
  };
}

const outputs: Record<string, pulumi.Input<unknown>> = settings.identityOnly
  ? { ...ownIdentity().ids, ...(settings.sharedEnvironment ? previewEnvironment() : {}) }
  : receiverStack();

export const clientId = outputs.clientId;
export const appIdUri = outputs.appIdUri;
export const applicationObjectId = outputs.applicationObjectId;
export const servicePrincipalObjectId = outputs.servicePrincipalObjectId;
export const tenantId = outputs.tenantId;
export const webhookUrl = outputs.webhookUrl;
export const receiverFqdn = outputs.receiverFqdn;
export const consoleUrl = outputs.consoleUrl;
export const actionGroupId = outputs.actionGroupId;
export const resourceGroupName = outputs.resourceGroupName;
export const image = outputs.image;
export const databaseMode = outputs.databaseMode;
export const environmentId = outputs.environmentId;
export const environmentDefaultDomain = outputs.environmentDefaultDomain;
export const workspaceId = outputs.workspaceId;
