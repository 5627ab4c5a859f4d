/**
 * The program loaded the way `pulumi preview` loads it, offline: the SDK's own `cmd/run` (what the
 * CLI's Node language host runs, here with typescript off as Pulumi.yaml says) against a fake
 * engine and resource monitor speaking the gRPC services shipped in @pulumi/pulumi/proto. The
 * monitor sees whole RegisterResourceRequests, so this checks what mocks cannot: resource options
 * (ignoreChanges, dependencies), secret wrapping, invokes — and the recorded inputs against the
 * provider SDKs' enums and deprecations, the names against Azure's naming rules, and the Graph
 * permissions the registered azuread resources need against docs/deploy/pulumi.md.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { AUTO_NAME_SUFFIX_LENGTH, ruleProblem, type NamedKind } from "../../infra/azure-names.ts";
import { REPO_ROOT } from "../support/paths.ts";
import { loadRoutingRules } from "../../receiver/src/routing/load-rules.ts";
import { COLLECTOR_CONFIG_VARIABLE, CONNECTION_STRING_VARIABLE } from "../../infra/metrics-collector.ts";
import { APPINSIGHTS_CONNECTION_STRING, AZNS_SP_OBJECT_ID, DEPLOYER_OBJECT_ID, GRAPH_SP_OBJECT_ID, OUR_SP_OBJECT_ID, SHARED_IDENTITY, computed, fqdnOf, invoke } from "./pulumi-mocks.ts";
import { AZURE_CLI_CLIENT_ID } from "../../receiver/src/contract.ts";
import { collectorConfigProblems } from "./collector-config-rules.ts";
import { schemaProblems } from "./provider-schema.ts";
import { deleteOrder, destroyProblems } from "./destroy-order.ts";
import { ARM_RESOURCE_TYPES, REGISTERED_BY_DEFAULT, RESOURCE_PROVIDERS, namespaceOf } from "../../infra/resource-providers.ts";

const require = createRequire(import.meta.url);
const resourceGrpc = require("@pulumi/pulumi/proto/resource_grpc_pb.js");
const resourcePb = require("@pulumi/pulumi/proto/resource_pb.js");
const enginePb = require("@pulumi/pulumi/proto/engine_pb.js");
const engineGrpc = require("@pulumi/pulumi/proto/engine_grpc_pb.js");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb.js");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb.js");

/** The SDK's marker for a secret value on the wire (sdk/nodejs/runtime/rpc.ts specialSigKey / specialSecretSig). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const AZNS_CLIENT_ID = "461e8683-5575-4561-ac7f-899cc907d62a";

interface Registration {
  type: string;
  name: string;
  urn: string;
  /** As sent: secrets still wrapped. */
  wire: Record<string, unknown>;
  inputs: Record<string, any>;
  ignoreChanges: string[];
  dependencies: string[];
  protect: boolean;
  retainOnDelete: boolean;
  parent?: string;
}
interface Run {
  code: number | null;
  output: string;
  errors: string[];
  registrations: Registration[];
  invokes: Array<{ token: string; args: Record<string, unknown> }>;
}

let current: Run;
let server: grpc.Server;
let address: string;

function unary(handler: (request: any) => unknown) {
  return (call: any, callback: (error: Error | null, response?: unknown) => void) => {
    try {
      callback(null, handler(call.request));
    } catch (error) {
      callback(error as Error);
    }
  };
}

function unwrap(value: any): any {
  if (Array.isArray(value)) return value.map(unwrap);
  if (value && typeof value === "object") {
    if (value[SIG_KEY] === SECRET_SIG) return unwrap(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

function isSecret(value: unknown): boolean {
  return !!value && typeof value === "object" && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Every path in `wire` whose value contains `needle` outside a secret wrapper. */
function plainOccurrences(value: unknown, needle: string, path = ""): string[] {
  if (isSecret(value)) return [];
  if (typeof value === "string") return value.includes(needle) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => plainOccurrences(v, needle, `${path}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => plainOccurrences(v, needle, `${path}.${k}`));
  return [];
}

beforeAll(async () => {
  server = new grpc.Server();
  const urnOf = (stack: string, parent: string, type: string, name: string) => {
    const parentType = parent ? parent.split("::")[2]! : "";
    const qualified = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
    return `urn:pulumi:${stack}::secure-export::${qualified}::${name}`;
  };
  server.addService(resourceGrpc.ResourceMonitorService, {
    // Secrets on: the SDK then marks secret values on the wire, as it does for the real engine.
    supportsFeature: unary((request) => new resourcePb.SupportsFeatureResponse().setHassupport(request.getId() === "secrets")),
    registerResource: unary((request) => {
      const type = request.getType();
      const name = request.getName();
      const wire = request.getObject()?.toJavaScript() ?? {};
      const inputs = unwrap(wire);
      const urn = urnOf(currentStack, request.getParent(), type, name);
      current.registrations.push({
        type,
        name,
        urn,
        wire,
        inputs,
        ignoreChanges: request.getIgnorechangesList(),
        dependencies: request.getDependenciesList(),
        protect: request.getProtect() ?? false,
        retainOnDelete: request.getRetainondelete() ?? false,
        ...(request.getParent() ? { parent: request.getParent() } : {}),
      });
      const response = new resourcePb.RegisterResourceResponse();
      response.setUrn(urn);
      if (request.getCustom()) response.setId(`${name}-id`);
      response.setObject(Struct.fromJavaScript({ ...wire, ...computed(type, name, inputs) }));
      return response;
    }),
    readResource: unary((request) => {
      const type = request.getType();
      if (type !== "pulumi:pulumi:StackReference") throw new Error(`unexpected read of ${type}`);
      const name = request.getName();
      current.registrations.push({ type, name, urn: urnOf(currentStack, request.getParent(), type, name), wire: {}, inputs: { name }, ignoreChanges: [], dependencies: [], protect: false, retainOnDelete: false });
      return new resourcePb.ReadResourceResponse().setUrn(urnOf(currentStack, request.getParent(), type, name)).setProperties(Struct.fromJavaScript({ name, outputs: SHARED_IDENTITY, secretOutputNames: [] }));
    }),
    registerResourceOutputs: unary(() => new Empty()),
    invoke: unary((request) => {
      const token = request.getTok();
      const args = unwrap(request.getArgs()?.toJavaScript() ?? {});
      current.invokes.push({ token, args });
      const result = invoke(token, args);
      if (!result) throw new Error(`unexpected invoke ${token}`);
      return new resourcePb.ResourceInvokeResponse().setReturn(Struct.fromJavaScript(result));
    }),
  });
  server.addService(engineGrpc.EngineService, {
    log: unary((request) => {
      if (request.getSeverity() >= 3) current.errors.push(request.getMessage());
      return new Empty();
    }),
    getRootResource: unary(() => new enginePb.GetRootResourceResponse().setUrn("")),
    setRootResource: unary(() => new enginePb.SetRootResourceResponse()),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(() => server?.forceShutdown());

/** What Pulumi.yaml tells the CLI: the entry and whether the language host should use ts-node. */
function projectFile(): { main: string; typescript: boolean } {
  const yaml = readFileSync(join(REPO_ROOT, "Pulumi.yaml"), "utf8");
  const main = /^main:\s*(\S+)/m.exec(yaml)?.[1];
  const typescript = /^\s+typescript:\s*(true|false)/m.exec(yaml)?.[1];
  if (!main || !typescript) throw new Error("Pulumi.yaml must set main and runtime.options.typescript");
  return { main, typescript: typescript === "true" };
}

let currentStack = "";
/** One `pulumi preview` of a stack: config as the CLI hands it to the language host (PULUMI_CONFIG). */
async function preview(stack: string, config: Record<string, string>, secretKeys: string[] = []): Promise<Run> {
  current = { code: null, output: "", errors: [], registrations: [], invokes: [] };
  currentStack = stack;
  const project = projectFile();
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, "node_modules/@pulumi/pulumi/cmd/run"), `--monitor=${address}`, `--engine=${address}`, "--project=secure-export", `--stack=${stack}`, `--pwd=${REPO_ROOT}`, "--dry-run", project.main],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        PULUMI_NODEJS_TYPESCRIPT: String(project.typescript),
        PULUMI_CONFIG: JSON.stringify(Object.fromEntries(Object.entries(config).map(([k, v]) => [`secure-export:${k}`, v]))),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(secretKeys.map((k) => `secure-export:${k}`)),
      },
    },
  );
  child.stdout.on("data", (d) => (current.output += d));
  child.stderr.on("data", (d) => (current.output += d));
  current.code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return current;
}

const byType = (run: Run, type: string) => run.registrations.filter((r) => r.type === type);
const receiverPull = (run: Run) => byType(run, "azure-native:authorization:RoleAssignment").find((r) => !r.name.includes("migrator") && !r.name.includes("-alert-sync-"))!;
const pullWait = (run: Run) => byType(run, "time:index/sleep:Sleep").find((r) => r.name.endsWith("-pull-permission-propagation"))!;
const one = (run: Run, type: string) => {
  const found = byType(run, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
};

const SN_PASSWORD = "sn-password-plain-text";
const CORP_PASSWORD = "corp-password-plain-text";
/** secure-export:routing as the CLI hands an object value to the program: its JSON text. */
const ROUTING = {
  connectors: { "snow-corp": { kind: "servicenow", url: "https://contoso.service-now.com", auth: { username: "svc-azure-alerts", passwordEnv: "SNOW_CORP_PASSWORD" } } },
  routes: [
    { name: "payments", match: { subscriptions: ["aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"] }, to: ["snow-corp"], set: { assignmentGroup: "Payments Operations" } },
    { name: "everything-else", to: ["default"] },
  ],
};
// The longest stack name the naming rules allow with the default prefix: auto-names at their longest.
const LONGEST = "integration-westeurope-01";
let full: Run;
let pr: Run;
let identityOnly: Run;
let badRouting: Run;
let clashingSecret: Run;
let notAnOwner: Run;

beforeAll(async () => {
  const project = projectFile();
  expect(project).toEqual({ main: "infra/index.ts", typescript: false });
  full = await preview(
    LONGEST,
    {
      exampleAlertRules: "true",
      owners: JSON.stringify([DEPLOYER_OBJECT_ID]),
      readers: JSON.stringify(["1e1e1e1e-0000-4000-8000-00000000001e"]),
      servicenowUrl: "https://dev1.service-now.com",
      servicenowUsername: "integration",
      servicenowPassword: SN_PASSWORD,
      routing: JSON.stringify(ROUTING),
      routingSecrets: JSON.stringify({ SNOW_CORP_PASSWORD: CORP_PASSWORD }),
    },
    ["servicenowPassword", "routingSecrets"],
  );
  pr = await preview("pr-99999999", {
    identityStack: "contoso/secure-export/preview-identity",
    image: `contososhared.azurecr.io/secure-export-receiver@sha256:${"c".repeat(64)}`,
    imageRegistryId: "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/shared/providers/Microsoft.ContainerRegistry/registries/contososhared",
  });
  identityOnly = await preview("preview-identity", { identityOnly: "true", sharedEnvironment: "true", owners: DEPLOYER_OBJECT_ID });
  notAnOwner = await preview("staging", { databaseMode: "embedded", owners: "0b0b0b0b-0000-4000-8000-00000000000b" });
  clashingSecret = await preview("staging", { receiverEnvironment: JSON.stringify({ LOG_LEVEL: "debug" }), routingSecrets: JSON.stringify({ ENTRA_TENANT_ID: "x" }) }, ["routingSecrets"]);
  badRouting = await preview("staging", {
    routing: JSON.stringify({
      connectors: { "snow-corp": { ...ROUTING.connectors["snow-corp"], auth: { username: "svc", passwordEnv: "SNOW_CORP_PASSWORD" } } },
      routes: [
        { name: "payments", to: ["snow-corp"], set: { urgency: 5 } },
        { name: "everything-else", to: ["snow-prod"] },
      ],
    }),
  });
}, 240_000);

describe("the program under the Pulumi SDK's own runner", () => {
  it("loads infra/index.ts as Pulumi.yaml declares it, for a full, a preview and an identity-only stack", () => {
    for (const run of [full, pr, identityOnly]) {
      expect({ code: run.code, errors: run.errors, output: run.code === 0 ? "" : run.output }).toEqual({ code: 0, errors: [], output: "" });
      expect(run.registrations[0]!.type).toBe("pulumi:pulumi:Stack");
    }
    expect(full.registrations.map((r) => r.type)).toEqual(expect.arrayContaining(["azure-native:app:ContainerApp", "azure-native:monitor:ActionGroup", "azure-native:dbforpostgresql:Server"]));
  });

  it("keeps the App ID URI out of the Application's diff (pulumi/pulumi-azuread#1036)", () => {
    for (const run of [full, identityOnly]) {
      expect(one(run, "azuread:index/application:Application").ignoreChanges).toContain("identifierUris");
      expect(byType(run, "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri")).toHaveLength(1);
    }
  });

  it("only reads the tenant's AzNS AAD Webhook principal: never registers it, assigns the role to what the read returned", () => {
    for (const run of [full, identityOnly]) {
      expect(byType(run, "azuread:index/servicePrincipal:ServicePrincipal").map((r) => r.inputs.clientId)).not.toContain(AZNS_CLIENT_ID);
      expect(run.invokes).toContainEqual({ token: "azuread:index/getServicePrincipal:getServicePrincipal", args: { clientId: AZNS_CLIENT_ID } });
      expect(byType(run, "azuread:index/appRoleAssignment:AppRoleAssignment").map((r) => r.inputs.principalObjectId)).toContain(AZNS_SP_OBJECT_ID);
    }
  });

  it("starts the Container App only after the network, the database and its administrator, and the propagated pull permission", () => {
    const app = one(full, "azure-native:app:ContainerApp");
    const urnOf = (type: string) => one(full, type).urn;
    expect(app.dependencies).toEqual(expect.arrayContaining([
      urnOf("azure-native:network:VirtualNetwork"),
      urnOf("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra"),
      urnOf("azure-native:dbforpostgresql:Database"),
      receiverPull(full).urn,
      one(full, "command:local:Command").urn,
      pullWait(full).urn,
    ]));
    expect(pullWait(full).dependencies).toContain(receiverPull(full).urn);
    const previewApp = one(pr, "azure-native:app:ContainerApp");
    expect(previewApp.dependencies).toEqual(expect.arrayContaining([pullWait(pr).urn, receiverPull(pr).urn]));
  });

  it("serialises the operations on the flexible server: DNS link, then server, then administrator, then database", () => {
    const urnOf = (type: string) => one(full, type).urn;
    expect(one(full, "azure-native:dbforpostgresql:Server").dependencies).toContain(urnOf("azure-native:privatedns:VirtualNetworkLink"));
    expect(one(full, "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra").dependencies).toContain(urnOf("azure-native:dbforpostgresql:Server"));
    expect(one(full, "azure-native:dbforpostgresql:Database").dependencies).toContain(urnOf("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra"));
    expect(byType(full, "azure-native:dbforpostgresql:FirewallRule")).toEqual([]);
  });

  it("sends every credential as a secret: workspace key, Container App secrets, registry password; no plain copy anywhere", () => {
    const environment = one(full, "azure-native:app:ManagedEnvironment");
    expect(isSecret((environment.wire as any).appLogsConfiguration?.logAnalyticsConfiguration?.sharedKey) || isSecret((environment.wire as any).appLogsConfiguration)).toBe(true);
    const app = one(full, "azure-native:app:ContainerApp").wire as any;
    const secrets = isSecret(app.configuration) ? app.configuration.value.secrets : app.configuration.secrets;
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(isSecret(secret.value) || isSecret(app.configuration)).toBe(true);
    const image = one(full, "docker-build:index:Image").wire as any;
    expect(isSecret(image.registries) || isSecret(image.registries?.[0]?.password)).toBe(true);
    for (const [needle, label] of [
      [SN_PASSWORD, "ServiceNow password"],
      [CORP_PASSWORD, "routingSecrets value"],
      [APPINSIGHTS_CONNECTION_STRING, "Application Insights connection string"],
      ["workspace-key", "workspace key"],
      ["acr-password", "registry password"],
    ] as const) {
      expect({ label, plain: full.registrations.flatMap((r) => plainOccurrences(r.wire, needle, r.type)) }).toEqual({ label, plain: [] });
    }
  });

  it("sends only inputs the providers' schemas know, each within its documented limits, enums and formats, none deprecated, none required missing (provider .d.ts)", () => {
    for (const run of [full, pr, identityOnly]) {
      expect(run.registrations.flatMap((r) => schemaProblems(r.type, r.inputs))).toEqual([]);
    }
  });

  it("registers, before any up, the resource provider of every Azure type the program records (a new type cannot slip past)", () => {
    const runs = [full, pr, identityOnly];
    const tokens = new Set(runs.flatMap((run) => [...run.registrations.map((r) => r.type), ...run.invokes.map((i) => i.token)]).filter((t) => t.startsWith("azure-native:")));
    expect([...tokens].filter((t) => !(t in ARM_RESOURCE_TYPES)), "types missing from infra/resource-providers.ts ARM_RESOURCE_TYPES").toEqual([]);
    const needed = new Set([...tokens].flatMap((t) => (ARM_RESOURCE_TYPES[t] ? [namespaceOf(ARM_RESOURCE_TYPES[t]!)] : [])));
    expect([...needed].filter((ns) => !RESOURCE_PROVIDERS.includes(ns) && !REGISTERED_BY_DEFAULT.has(ns))).toEqual([]);
    // A person's first `pulumi up` in a new subscription runs the same registration (docs/deploy/pulumi.md).
    const docs = readFileSync(join(REPO_ROOT, "docs/deploy/pulumi.md"), "utf8");
    expect(docs).toMatch(/namespaces=\$\(node infra\/pipeline\/cli\.ts resource-providers\)[\s\S]{0,200}az provider register --namespace "\$namespace" --wait/);
  });

  it("destroys in an order Azure accepts: the network it releases late retained with its group, PostgreSQL after its clients and before its network, soft-deleted resources auto-named", () => {
    for (const run of [full, pr, identityOnly]) expect({ stack: run.registrations[0]!.name, problems: destroyProblems(run.registrations) }).toEqual({ stack: run.registrations[0]!.name, problems: [] });
    const retained = (run: Run) => run.registrations.filter((r) => r.retainOnDelete).map((r) => r.type).sort();
    expect(retained(full)).toEqual(["azure-native:network:VirtualNetwork", "azure-native:resources:ResourceGroup"]);
    // A preview stack has no network: its destroy leaves nothing.
    expect(retained(pr)).toEqual([]);
    const order = deleteOrder(full.registrations).map((urn) => full.registrations.find((r) => r.urn === urn)!.type);
    expect(order.indexOf("azure-native:app:ContainerApp")).toBeLessThan(order.indexOf("azure-native:dbforpostgresql:Server"));
    expect(order.indexOf("azure-native:dbforpostgresql:Server")).toBeLessThan(order.indexOf("azure-native:privatedns:VirtualNetworkLink"));
  });

  it("gives every Azure resource a name its naming rule accepts, auto-named ones with the longest suffix", () => {
    // Registered type → the rule and the input that names it explicitly (else Pulumi auto-names it).
    const naming: Record<string, { kind: NamedKind; property: string }> = {
      "azure-native:resources:ResourceGroup": { kind: "resourceGroup", property: "resourceGroupName" },
      "azure-native:operationalinsights:Workspace": { kind: "logAnalyticsWorkspace", property: "workspaceName" },
      "azure-native:app:ManagedEnvironment": { kind: "managedEnvironment", property: "environmentName" },
      "azure-native:app:ContainerApp": { kind: "containerApp", property: "containerAppName" },
      // A job's name follows the Container App rule (the az CLI validates both alike).
      "azure-native:app:Job": { kind: "containerApp", property: "jobName" },
      "azure-native:containerregistry:Registry": { kind: "containerRegistry", property: "registryName" },
      "azure-native:managedidentity:UserAssignedIdentity": { kind: "userAssignedIdentity", property: "resourceName" },
      "azure-native:dbforpostgresql:Server": { kind: "postgresServer", property: "serverName" },
      "azure-native:network:VirtualNetwork": { kind: "virtualNetwork", property: "virtualNetworkName" },
      "azure-native:monitor:ActionGroup": { kind: "actionGroup", property: "actionGroupName" },
      "azure-native:applicationinsights:Component": { kind: "applicationInsights", property: "resourceName" },
    };
    const problems: string[] = [];
    for (const run of [full, pr]) {
      for (const r of run.registrations) {
        const rule = naming[r.type];
        if (!rule) continue;
        const name = (r.inputs[rule.property] as string | undefined) ?? `${r.name}${"f".repeat(AUTO_NAME_SUFFIX_LENGTH)}`;
        const problem = ruleProblem(rule.kind, name);
        if (problem) problems.push(`${r.type}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
    const zone = one(full, "azure-native:privatedns:PrivateZone").inputs.privateZoneName as string;
    expect(ruleProblem("privateDnsZoneLabel", zone.split(".")[0]!)).toBeUndefined();
    // Every auto-named Azure resource type the program creates is covered by the table above.
    const covered = new Set([...Object.keys(naming), "azure-native:privatedns:PrivateZone"]);
    const named = full.registrations.filter((r) => /^azure-native:(resources|operationalinsights|app|containerregistry|managedidentity|dbforpostgresql:Server|network:VirtualNetwork$|monitor:ActionGroup|privatedns:PrivateZone)/.test(r.type));
    expect(named.map((r) => r.type).filter((t) => !covered.has(t))).toEqual([]);
  });

  it("needs exactly the Graph permissions docs/deploy/pulumi.md lists, per the azuread resources' own API Permissions notes", () => {
    const needed = graphPermissions([...full.registrations.map((r) => r.type), ...full.invokes.map((i) => i.token), ...identityOnly.registrations.map((r) => r.type), ...identityOnly.invokes.map((i) => i.token)]);
    const readme = readFileSync(join(REPO_ROOT, "docs/deploy/pulumi.md"), "utf8");
    const listed = (label: string) => {
      const line = readme.split("\n").find((l) => l.trim().startsWith(`- **${label}**`));
      if (!line) throw new Error(`docs/deploy/pulumi.md has no line starting "- **${label}**"`);
      return [...line.matchAll(/`([A-Za-z]+\.[A-Za-z.]+)`/g)].map((m) => m[1]!).sort();
    };
    expect(listed("Graph application permissions")).toEqual(needed.required);
    expect(readme).toContain(needed.conditional[0]);
    // A preview stack creates no Entra object and only reads the client config, which needs no permission.
    expect(pr.registrations.filter((r) => r.type.startsWith("azuread:"))).toEqual([]);
    expect(graphPermissions(pr.invokes.map((i) => i.token))).toEqual({ required: [], conditional: [] });
  });
});

/**
 * Where Microsoft Graph's own permission table names a less privileged application permission than
 * the provider's note. ServicePrincipalDelegatedPermissionGrant's note says `Directory.ReadWrite.All`;
 * the calls it makes (POST/PATCH/DELETE /oauth2PermissionGrants) list DelegatedPermissionGrant.ReadWrite.All
 * as least privileged (learn.microsoft.com/graph/api/oauth2permissiongrant-post, "Permissions").
 */
const LEAST_PRIVILEGED: Record<string, string[]> = {
  servicePrincipalDelegatedPermissionGrant: ["DelegatedPermissionGrant.ReadWrite.All"],
};

/**
 * The least privileged choice of each azuread resource's and data source's "API Permissions" note
 * (the first alternative the provider lists), and the roles it says "may" also be needed.
 */
function graphPermissions(tokens: string[]): { required: string[]; conditional: string[] } {
  const required = new Set<string>();
  const conditional = new Set<string>();
  const root = join(REPO_ROOT, "node_modules/@pulumi/azuread");
  for (const token of new Set(tokens.filter((t) => t.startsWith("azuread:")))) {
    const file = token.split(":")[1]!.split("/")[1]!;
    const doc = readFileSync(join(root, `${file}.d.ts`), "utf8");
    const section = doc.slice(doc.indexOf("## API Permissions"), doc.indexOf("## Example Usage"));
    if (/No additional roles are required/.test(section)) continue;
    if (LEAST_PRIVILEGED[file]) {
      for (const role of LEAST_PRIVILEGED[file]!) required.add(role);
      continue;
    }
    const roles = /When authenticated with a service principal, this (?:resource|data source) requires (?:one of the following application roles|the following application role): (.*)/.exec(section)?.[1];
    if (!roles) throw new Error(`${file}.d.ts: no API Permissions note`);
    const first = roles.split(/,? or /)[0]!;
    for (const role of first.matchAll(/`([^`]+)`/g)) required.add(role[1]!);
    for (const extra of section.matchAll(/Additionally, you may need the `([^`]+)` application role/g)) conditional.add(extra[1]!);
  }
  return { required: [...required].sort(), conditional: [...conditional].sort() };
}

type Container = { name: string; image: string; args?: string[]; env: Array<{ name: string; value?: string; secretRef?: string }>; resources: { cpu: number; memory: string } };
const containersOf = (run: Run): Container[] => one(run, "azure-native:app:ContainerApp").inputs.template.containers;
const envOf = (container: Container) => Object.fromEntries(container.env.map((e) => [e.name, e.secretRef !== undefined ? { secretRef: e.secretRef } : { value: e.value }]));

/**
 * Who signs users in to our API, and for which scopes, read from the clients themselves:
 * - the web console (receiver/console/auth.js) is our own application, asking for
 *   `openid profile offline_access ${config.scope}`, where config.scope is `{appIdUri}/user_impersonation`
 *   (receiver/src/http/routes/console.ts);
 * - /docs (Swagger UI, receiver/src/http/routes/docs.ts) signs in as the same client with
 *   `openid profile ${scope}`: a subset of the console's, so the console's grant covers it;
 * - the CLI asks for `{appIdUri}/.default` (receiver/cli/token.ts) through the Azure CLI's login or
 *   @azure/identity's DeviceCodeCredential, whose default client is the Azure CLI's
 *   (@azure/identity constants.js DeveloperSignOnClientId). `.default` yields the scopes the client
 *   is consented or pre-authorized for.
 * The rule (Microsoft Learn, "Manage users and groups assignment to an application"): a client
 * whose service principal requires assignment needs admin consent for every scope it requests,
 * Microsoft Graph's OpenID Connect scopes included; otherwise pre-authorization on our API covers
 * our scopes. Either way, exactly the scopes requested: no grant for more.
 */
describe("Entra consent for every client that signs users in", () => {
  const read = (file: string) => readFileSync(join(REPO_ROOT, file), "utf8");
  const consoleScopes = () => {
    const requested = /scope: `([^`]+)`/.exec(read("receiver/console/auth.js"))?.[1];
    const apiScope = /scope: appIdUri \? `\$\{appIdUri\}\/(\w+)`/.exec(read("receiver/src/http/routes/console.ts"))?.[1];
    if (!requested || !apiScope) throw new Error("cannot read the console's requested scopes");
    return requested.split(" ").map((s) => (s === "${config.scope}" ? `api/${apiScope}` : `graph/${s}`));
  };

  it("grants the console admin consent for exactly the scopes it requests, and pre-authorizes the Azure CLI for exactly our scope", () => {
    expect(consoleScopes()).toEqual(["graph/openid", "graph/profile", "graph/offline_access", "api/user_impersonation"]);
    const app = one(full, "azuread:index/application:Application").inputs;
    const sp = one(full, "azuread:index/servicePrincipal:ServicePrincipal").inputs;
    expect(app.singlePageApplication.redirectUris).toEqual([`https://${fqdnOf(LONGEST)}/console/`, `https://${fqdnOf(LONGEST)}/docs/static/oauth2-redirect.html`]);
    const scopeIds = Object.fromEntries((app.api.oauth2PermissionScopes as Array<{ id: string; value: string }>).map((s) => [s.id, s.value]));
    const grants = byType(full, "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant").map((g) => g.inputs);
    const resourceName = (objectId: string) => (objectId === OUR_SP_OBJECT_ID ? "api" : objectId === GRAPH_SP_OBJECT_ID ? "graph" : objectId);
    // The console's client is this application's own service principal, which requires assignment.
    expect(sp.appRoleAssignmentRequired).toBe(true);
    expect(grants.every((g) => g.servicePrincipalObjectId === OUR_SP_OBJECT_ID && g.userObjectId === undefined)).toBe(true);
    const granted = grants.flatMap((g) => (g.claimValues as string[]).map((c) => `${resourceName(g.resourceServicePrincipalObjectId)}/${c}`));
    expect(granted.sort()).toEqual(consoleScopes().sort());
    const docsRequested = /const scopes = \{ ([^}]+) \};/.exec(read("receiver/src/http/routes/docs.ts"))?.[1];
    if (!docsRequested) throw new Error("cannot read the scopes /docs requests");
    const docsScopes = [...docsRequested.matchAll(/(\w+|\[scope\]):/g)].map((m) => (m[1] === "[scope]" ? "api/user_impersonation" : `graph/${m[1]}`));
    expect(docsScopes).toEqual(["graph/openid", "graph/profile", "api/user_impersonation"]);
    expect(docsScopes.filter((scope) => !granted.includes(scope))).toEqual([]);
    // The CLI: the Azure CLI client, pre-authorized for our scope and nothing else.
    expect(read("receiver/cli/token.ts")).toContain("const scope = `${resource}/.default`;");
    expect(read("node_modules/@azure/identity/dist/esm/constants.js")).toContain(`DeveloperSignOnClientId = "${AZURE_CLI_CLIENT_ID}"`);
    const preAuthorized = byType(full, "azuread:index/applicationPreAuthorized:ApplicationPreAuthorized").map((p) => ({ client: p.inputs.authorizedClientId, scopes: (p.inputs.permissionIds as string[]).map((id) => scopeIds[id]) }));
    expect(preAuthorized).toEqual([{ client: AZURE_CLI_CLIENT_ID, scopes: ["user_impersonation"] }]);
  });

  it("gives a stack without a console (the shared preview application) no grant", () => {
    expect(byType(identityOnly, "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant")).toEqual([]);
  });
});

describe("owners of the application", () => {
  it("are exactly secure-export:owners; a run by an identity not listed there is refused before it changes anything", () => {
    // The application: the deployers and the receiver's identity (the heartbeat tests its secure webhook); its service principal: the deployers.
    const owners = one(full, "azuread:index/application:Application").inputs.owners as string[];
    expect(owners).toHaveLength(2);
    expect(owners).toContain(DEPLOYER_OBJECT_ID);
    expect(one(full, "azuread:index/servicePrincipal:ServicePrincipal").inputs.owners).toEqual([DEPLOYER_OBJECT_ID]);
    expect(notAnOwner.code).not.toBe(0);
    expect([...notAnOwner.errors, notAnOwner.output].join("\n")).toContain(`secure-export:owners does not list the identity running this update (object id ${DEPLOYER_OBJECT_ID})`);
    expect(notAnOwner.registrations.filter((r) => r.type.startsWith("azuread:"))).toEqual([]);
  });
});

describe("the receiver's routing rules, from secure-export:routing and routingSecrets", () => {
  it("hands the checked rules to the receiver as ROUTING_RULES, and each routingSecrets entry as a secret-backed variable", () => {
    const receiver = containersOf(full).find((c) => c.name === "receiver")!;
    const env = envOf(receiver);
    expect(JSON.parse(env.ROUTING_RULES!.value!)).toEqual(ROUTING);
    expect(env.SNOW_CORP_PASSWORD).toEqual({ secretRef: "routing-snow-corp-password" });
    const app = one(full, "azure-native:app:ContainerApp").inputs;
    expect(app.configuration.secrets).toContainEqual({ name: "routing-snow-corp-password", value: CORP_PASSWORD });
    // What the receiver does with that environment at start-up: the rules load, snow-corp's password resolves.
    const started = Object.fromEntries(receiver.env.map((e) => [e.name, e.value ?? (app.configuration.secrets as Array<{ name: string; value: string }>).find((s) => s.name === e.secretRef)!.value]));
    const rules = loadRoutingRules(started);
    expect(rules.connectors.map((c) => c.name)).toEqual(["default", "snow-corp"]);
  });

  it("refuses rules with problems before any resource is registered, listing every problem with its line and field", () => {
    expect(badRouting.code).not.toBe(0);
    expect(badRouting.registrations.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack")).toEqual([]);
    const message = [...badRouting.errors, badRouting.output].join("\n");
    expect(message).toContain("secure-export:routing has 3 problems");
    const problems = message.split("\n").filter((l) => /^\s+line \d+, column \d+: /.test(l)).map((l) => l.trim());
    expect(problems).toEqual([
      expect.stringMatching(/^line 8, column 24: connectors\.snow-corp\.auth\.passwordEnv names SNOW_CORP_PASSWORD, which neither secure-export:routingSecrets nor/),
      expect.stringMatching(/^line 19, column 20: routes\[0\]\.set\.urgency must be one of "1", "2", "3"/),
      expect.stringMatching(/^line 25, column 9: routes\[1\]\.to\[0\] names no connector "snow-prod"/),
    ]);
  });
});

describe("variables the stack sets itself", () => {
  it("refuses a routingSecrets entry that would replace one, before any resource is registered", () => {
    expect(clashingSecret.code).not.toBe(0);
    expect(clashingSecret.registrations.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack")).toEqual([]);
    expect([...clashingSecret.errors, clashingSecret.output].join("\n")).toContain("secure-export:routingSecrets must not set ENTRA_TENANT_ID, which the stack sets");
  });
});

describe("the Container App behind Container Apps' ingress, its metrics scraped into Application Insights", () => {
  it("trusts exactly one proxy hop (the ingress) for X-Forwarded-For", () => {
    for (const run of [full, pr]) expect(envOf(containersOf(run).find((c) => c.name === "receiver")!).TRUSTED_PROXY_HOPS).toEqual({ value: "1" });
  });

  it("runs the collector sidecar on its config variable, scraping the port the receiver serves metrics on, exporting with the component's connection string", () => {
    for (const run of [full, pr]) {
      const [receiver, collector] = containersOf(run);
      expect(collector).toMatchObject({ name: "metrics-collector", image: expect.stringMatching(/^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/), args: [`--config=env:${COLLECTOR_CONFIG_VARIABLE}`] });
      const env = envOf(collector!);
      const config = parse(env[COLLECTOR_CONFIG_VARIABLE]!.value!);
      const targets = config.receivers.prometheus.config.scrape_configs.flatMap((c: any) => c.static_configs.flatMap((s: any) => s.targets));
      expect(targets).toEqual([`127.0.0.1:${envOf(receiver!).METRICS_PORT!.value}`]);
      expect(collectorConfigProblems(env[COLLECTOR_CONFIG_VARIABLE]!.value!, collector!.env.map((e) => e.name))).toEqual([]);
      const secret = env[CONNECTION_STRING_VARIABLE]!.secretRef!;
      expect(config.exporters.azuremonitor.connection_string).toBe(`\${env:${CONNECTION_STRING_VARIABLE}}`);
      expect(one(run, "azure-native:app:ContainerApp").inputs.configuration.secrets).toContainEqual({ name: secret, value: APPINSIGHTS_CONNECTION_STRING });
      const component = one(run, "azure-native:applicationinsights:Component");
      const workspaceId = run === pr ? SHARED_IDENTITY.workspaceId : `${one(run, "azure-native:operationalinsights:Workspace").name}-id`;
      expect(component.inputs).toMatchObject({ ingestionMode: "LogAnalytics", workspaceResourceId: workspaceId });
    }
    expect(byType(identityOnly, "azure-native:applicationinsights:Component")).toEqual([]);
  });

  /**
   * Microsoft Learn, "Containers in Azure Container Apps", #allocations
   * (MicrosoftDocs/azure-docs articles/container-apps/containers.md): in the Consumption workload
   * profile "the total CPU and memory allocations requested for all the containers in a container
   * app must add up to one of the following combinations".
   */
  const CONSUMPTION_PROFILE_ALLOCATIONS: ReadonlyArray<readonly [number, string]> = [
    [0.25, "0.5Gi"], [0.5, "1.0Gi"], [0.75, "1.5Gi"], [1.0, "2.0Gi"], [1.25, "2.5Gi"], [1.5, "3.0Gi"], [1.75, "3.5Gi"], [2.0, "4.0Gi"],
    [2.25, "4.5Gi"], [2.5, "5.0Gi"], [2.75, "5.5Gi"], [3.0, "6.0Gi"], [3.25, "6.5Gi"], [3.5, "7.0Gi"], [3.75, "7.5Gi"], [4.0, "8.0Gi"],
  ];
  const gibibytes = (memory: string) => {
    const match = /^(\d+(?:\.\d{1,2})?)Gi$/.exec(memory);
    if (!match) throw new Error(`${memory}: Container Apps takes memory in Gi with at most two decimals`);
    return Number(match[1]);
  };

  it("sizes the app to an allowed Consumption combination: 1 vCPU / 2Gi for the embedded store, 0.5 / 1Gi with PostgreSQL, plus the sidecar", () => {
    expect(one(full, "azure-native:app:ContainerApp").inputs.workloadProfileName).toBe("Consumption");
    const totals = (run: Run) => {
      const containers = containersOf(run);
      return [containers.reduce((sum, c) => sum + c.resources.cpu, 0), containers.reduce((sum, c) => sum + gibibytes(c.resources.memory), 0)] as const;
    };
    for (const run of [full, pr]) {
      const [cpu, memory] = totals(run);
      expect(CONSUMPTION_PROFILE_ALLOCATIONS.some(([c, m]) => c === cpu && gibibytes(m) === memory), `${cpu} vCPU / ${memory}Gi`).toBe(true);
    }
    const receiver = (run: Run) => containersOf(run).find((c) => c.name === "receiver")!.resources;
    expect(receiver(full)).toEqual({ cpu: 0.5, memory: "1Gi" });
    expect(receiver(pr)).toEqual({ cpu: 1, memory: "2Gi" });
  });
});
