/**
 * Runs the Pulumi program under `pulumi.runtime.setMocks`, recording every resource it registers.
 * Mocks and config are installed before the program is imported (else they are silently unused),
 * every output the program reads is returned, and an unknown invoke fails loudly.
 */
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** As registered, secrets still wrapped. */
  rawInputs: Record<string, any>;
  options: { protect?: boolean; retainOnDelete?: boolean; dependsOn?: string[]; parent?: string; ignoreChanges?: string[] };
  urn: string;
}

export const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const SUBSCRIPTION_ID = "00000000-1111-2222-3333-444444444444";
export const DEPLOYER_OBJECT_ID = "d3d3d3d3-0000-4000-8000-000000000001";
export const APP_OBJECT_ID = "a0b1c2d3-0000-4000-8000-0000000000a1";
export const APP_CLIENT_ID = "c1c1c1c1-0000-4000-8000-0000000000c1";
export const OUR_SP_OBJECT_ID = "5b5b5b5b-0000-4000-8000-0000000000b5";
export const AZNS_SP_OBJECT_ID = "a2a2a2a2-0000-4000-8000-0000000000a2";
export const DEFAULT_DOMAIN = "kindhill-1234.westeurope.azurecontainerapps.io";
/** The receiver's host name: `{container app name}.{environment default domain}`, as Container Apps names it. */
export function fqdnOf(stack: string, namePrefix = "secexp"): string {
  return `${namePrefix}-${stack}.${DEFAULT_DOMAIN}`;
}
/** The shared preview application, as the preview-identity stack exports it. */
export const SHARED_IDENTITY = {
  clientId: "5ca5ca5c-0000-4000-8000-0000000000c5",
  appIdUri: "api://5ca5ca5c-0000-4000-8000-0000000000c5",
  applicationObjectId: "5a5a5a5a-0000-4000-8000-0000000000a5",
  servicePrincipalObjectId: "5b5b5b5b-0000-4000-8000-0000000000b6",
  tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
  environmentId: "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/secexp-preview-identity1a2b3c4d/providers/Microsoft.App/managedEnvironments/secexp-preview-identity5e6f7a8b",
  environmentDefaultDomain: "previewhill-5678.westeurope.azurecontainerapps.io",
  workspaceId: "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/secexp-preview-identity1a2b3c4d/providers/Microsoft.OperationalInsights/workspaces/secexp-preview-identity9c0d1e2f",
};
/** What an Application Insights component reports as its connection string (a credential: it admits telemetry). */
export const APPINSIGHTS_CONNECTION_STRING = "InstrumentationKey=00000000-aaaa-4bbb-8ccc-dddddddddddd;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/";
export const UAMI = { principalId: "uai-principal-id", clientId: "0a1d0a1d-0000-4000-8000-00000000001d" };
/** The database administrator identity (the migration job's). */
export const DB_ADMIN_UAMI = { principalId: "db-admin-principal-id", clientId: "0ad10ad1-0000-4000-8000-0000000000ad" };

/** Microsoft Graph's service principal in the tenant (the OpenID Connect scopes' resource). */
export const GRAPH_SP_OBJECT_ID = "9a9a9a9a-0000-4000-8000-0000000000a9";
/** A ServiceNow instance's client application, registered in the tenant for the closed loop. */
export const SERVICENOW_SYNC_CLIENT = { clientId: "8c1d8c1d-0000-4000-8000-000000005e0c", objectId: "8c1d8c1d-0000-4000-8000-0000000000b1" };
const SERVICE_PRINCIPALS: Record<string, Record<string, unknown>> = {
  [SERVICENOW_SYNC_CLIENT.clientId]: { ...SERVICENOW_SYNC_CLIENT, displayName: "ServiceNow secure-export sync" },
  "461e8683-5575-4561-ac7f-899cc907d62a": { objectId: AZNS_SP_OBJECT_ID, clientId: "461e8683-5575-4561-ac7f-899cc907d62a", displayName: "AzNS AAD Webhook" },
  "00000003-0000-0000-c000-000000000000": { objectId: GRAPH_SP_OBJECT_ID, clientId: "00000003-0000-0000-c000-000000000000", displayName: "Microsoft Graph" },
};

/** What each invoke the program makes answers; an invoke of anything else fails the test. */
export function invoke(token: string, args: Record<string, unknown>): Record<string, unknown> | undefined {
  if (token === "azuread:index/getServicePrincipal:getServicePrincipal") {
    const found = SERVICE_PRINCIPALS[String(args.clientId)];
    if (!found) throw new Error(`no service principal with client id ${String(args.clientId)} in the fake tenant`);
    return found;
  }
  return INVOKES[token];
}

export const INVOKES: Record<string, Record<string, unknown>> = {
  "azure-native:authorization:getClientConfig": { subscriptionId: SUBSCRIPTION_ID, tenantId: TENANT_ID, clientId: "deployer-client", objectId: DEPLOYER_OBJECT_ID },
  "azuread:index/getClientConfig:getClientConfig": { tenantId: TENANT_ID, objectId: DEPLOYER_OBJECT_ID, clientId: "deployer-client" },
  "azure-native:operationalinsights:getSharedKeys": { primarySharedKey: "workspace-key", secondarySharedKey: "workspace-key-2" },
  "azure-native:containerregistry:listRegistryCredentials": { username: "acruser", passwords: [{ name: "password", value: "acr-password" }] },
};

/** What the real providers compute and the program reads back. */
export function computed(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
  switch (type) {
    case "azuread:index/application:Application":
      return { objectId: APP_OBJECT_ID, clientId: APP_CLIENT_ID };
    case "azuread:index/servicePrincipal:ServicePrincipal":
      return { objectId: OUR_SP_OBJECT_ID };
    case "azure-native:app:ManagedEnvironment":
      return { defaultDomain: DEFAULT_DOMAIN, name };
    case "azure-native:app:ContainerApp": {
      const fqdn = `${inputs.containerAppName}.${DEFAULT_DOMAIN}`;
      return { configuration: { ...inputs.configuration, ingress: { ...inputs.configuration?.ingress, fqdn } }, latestRevisionFqdn: `rev.${fqdn}` };
    }
    case "azure-native:containerregistry:Registry":
      return { loginServer: `${name}.azurecr.io`, name };
    case "azure-native:applicationinsights:Component":
      return { connectionString: APPINSIGHTS_CONNECTION_STRING, name };
    case "azure-native:operationalinsights:Workspace":
      return { customerId: "workspace-customer-id", name };
    case "azure-native:managedidentity:UserAssignedIdentity":
      return { ...(name.endsWith("-db-admin") ? DB_ADMIN_UAMI : UAMI), name: `${name}4f00d1e5` };
    case "azure-native:app:Job":
      return { name: inputs.jobName ?? name };
    case "azure-native:network:VirtualNetwork":
      return { name };
    case "azure-native:privatedns:PrivateZone":
      return { name: inputs.privateZoneName };
    case "random:index/randomId:RandomId":
      return { hex: "00".repeat(inputs.byteLength ?? 8) };
    case "pulumi:pulumi:StackReference":
      return { outputs: SHARED_IDENTITY };
    case "azure-native:dbforpostgresql:Server":
      return { fullyQualifiedDomainName: `${name}.postgres.database.azure.com`, name };
    case "azure-native:dbforpostgresql:Database":
      return { name: inputs.databaseName };
    case "azure-native:resources:ResourceGroup":
      return { name };
    case "docker-build:index:Image":
      return { ref: `${name}.azurecr.io/secure-export-receiver@sha256:feed`, digest: "sha256:feed" };
    default:
      return {};
  }
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Mocked inputs carry secrets as signature objects: tests assert on the values, and on secretness separately. */
function unwrapSecrets(value: any): any {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    if (SECRET_SIG in value) return unwrapSecrets(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** Whether a mocked input, or anything inside it, arrived as a secret. */
export function containsSecret(raw: unknown): boolean {
  return JSON.stringify(raw ?? null).includes(SECRET_SIG);
}

export interface RunOptions {
  stack: string;
  config: Record<string, string>;
  secrets?: Record<string, string>;
}

export async function runProgram(options: RunOptions): Promise<{ resources: Registered[]; outputs: Record<string, unknown> }> {
  const resources: Registered[] = [];
  const registrationOptions = new Map<string, Registered["options"] & { urn: string }>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = unwrapSecrets(args.inputs);
        const state = { ...args.inputs, ...computed(args.type, args.name, inputs) };
        // Resources read rather than registered (a StackReference) have no registration options.
        const { urn, ...registration } = registrationOptions.get(`${args.type}::${args.name}`) ?? { urn: `urn:pulumi:${options.stack}::secure-export::${args.type}::${args.name}` };
        resources.push({ type: args.type, name: args.name, inputs, rawInputs: args.inputs, options: registration, urn });
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        const result = invoke(args.token, args.inputs as Record<string, unknown>);
        if (!result) throw new Error(`unexpected invoke ${args.token} ${JSON.stringify(args.inputs)}`);
        return result;
      },
    },
    "secure-export",
    options.stack,
    false,
  );
  // The mocks API hides resource options; the registration request carries them.
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request: any, callback: unknown) => {
    registrationOptions.set(`${request.getType()}::${request.getName()}`, {
      // The URN the mock monitor gives it (parent types included), as dependencies name it.
      urn: monitor.newUrn(request.getParent(), request.getType(), request.getName()),
      protect: request.getProtect() ?? false,
      retainOnDelete: request.getRetainondelete() ?? false,
      dependsOn: request.getDependenciesList(),
      parent: request.getParent(),
      ignoreChanges: request.getIgnorechangesList(),
    });
    return register(request, callback);
  };
  const all = { ...Object.fromEntries(Object.entries(options.config).map(([k, v]) => [`secure-export:${k}`, v])), ...Object.fromEntries(Object.entries(options.secrets ?? {}).map(([k, v]) => [`secure-export:${k}`, v])) };
  pulumi.runtime.setAllConfig(all, Object.keys(options.secrets ?? {}).map((k) => `secure-export:${k}`));

  const program = (await import("../../infra/index.ts")) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(program)) {
    outputs[key] = pulumi.Output.isInstance(value) ? await new Promise((resolve) => (value as pulumi.Output<unknown>).apply(resolve)) : value;
  }
  // Resources no export depends on (example rules) may still be registering: wait until quiet.
  for (let seen = -1; seen !== resources.length; ) {
    seen = resources.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { resources, outputs };
}

export function find(resources: Registered[], type: string, predicate: (r: Registered) => boolean = () => true): Registered {
  const found = resources.filter((r) => r.type === type && predicate(r));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
  return found[0]!;
}

/** Resolves the plain value inside mocked inputs (outputs arrive resolved in `inputs`). */
export function envOf(containerApp: Registered): Record<string, { value?: string; secretRef?: string }> {
  const env = containerApp.inputs.template.containers[0].env as Array<{ name: string; value?: string; secretRef?: string }>;
  return Object.fromEntries(env.map((e) => [e.name, e.secretRef ? { secretRef: e.secretRef } : { value: e.value }]));
}
