/**
 * A preview stack (pr-*) as the pipeline seeds it: a prebuilt image from the shared registry and the
 * shared preview application. Cheap, disposable, unprotected, and nothing in Entra to write or leave behind.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SHARED_IDENTITY, envOf, find, runProgram, type Registered } from "./pulumi-mocks.ts";

let resources: Registered[];
let outputs: Record<string, unknown>;
const SHARED = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/shared/providers/Microsoft.ContainerRegistry/registries/contososhared";
const IMAGE = `contososhared.azurecr.io/secure-export-receiver@sha256:${"b".repeat(64)}`;

beforeAll(async () => {
  ({ resources, outputs } = await runProgram({ stack: "pr-42", config: { image: IMAGE, imageRegistryId: SHARED, identityStack: "contoso/secure-export/preview-identity" } }));
});

describe("preview stack", () => {
  it("creates no Entra object at all: it reads the shared application from the preview-identity stack", () => {
    expect(resources.filter((r) => r.type.startsWith("azuread:"))).toEqual([]);
    expect(find(resources, "pulumi:pulumi:StackReference").inputs.name).toBe("contoso/secure-export/preview-identity");
    const env = envOf(find(resources, "azure-native:app:ContainerApp"));
    expect(env).toMatchObject({
      ENTRA_CLIENT_ID: { value: SHARED_IDENTITY.clientId },
      ENTRA_AUDIENCES: { value: `${SHARED_IDENTITY.appIdUri},${SHARED_IDENTITY.clientId}` },
    });
    expect(find(resources, "azure-native:monitor:ActionGroup").inputs.webhookReceivers[0]).toMatchObject({
      objectId: SHARED_IDENTITY.applicationObjectId,
      identifierUri: SHARED_IDENTITY.appIdUri,
      tenantId: SHARED_IDENTITY.tenantId,
    });
    expect(outputs).toMatchObject({ clientId: SHARED_IDENTITY.clientId, receiverFqdn: `secexp-pr-42.${SHARED_IDENTITY.environmentDefaultDomain}` });
  });

  it("has no heartbeat: its identity cannot own the shared application Azure would test the secure webhook of", () => {
    const env = envOf(find(resources, "azure-native:app:ContainerApp"));
    expect(env.HEARTBEAT_ACTION_GROUP_ID).toBeUndefined();
    expect(resources.filter((r) => r.type.startsWith("azure-native:authorization:") && r.name.endsWith("-heartbeat"))).toEqual([]);
  });

  it("runs in the shared preview environment (no environment or workspace of its own: 15 per region would cap open pull requests)", () => {
    expect(resources.filter((r) => r.type === "azure-native:app:ManagedEnvironment" || r.type === "azure-native:operationalinsights:Workspace")).toEqual([]);
    expect(find(resources, "azure-native:app:ContainerApp").inputs.environmentId).toBe(SHARED_IDENTITY.environmentId);
    expect(find(resources, "azure-native:applicationinsights:Component").inputs.workspaceResourceId).toBe(SHARED_IDENTITY.workspaceId);
  });

  it("uses the embedded store on an ephemeral volume with exactly one replica, and creates no database or network", () => {
    expect(resources.filter((r) => /dbforpostgresql|network:|privatedns/.test(r.type))).toEqual([]);
    const app = find(resources, "azure-native:app:ContainerApp");
    expect(app.inputs.template.scale).toMatchObject({ minReplicas: 1, maxReplicas: 1 });
    expect(app.inputs.template.volumes).toEqual([{ name: "data", storageType: "EmptyDir" }]);
    expect(app.inputs.template.containers[0].volumeMounts).toEqual([{ volumeName: "data", mountPath: "/data" }]);
    expect(envOf(app)).toMatchObject({ DATA_DIR: { value: "/data" } });
    expect(envOf(app).DATABASE_URL).toBeUndefined();
    expect(outputs.databaseMode).toBe("embedded");
  });

  it("deploys the prebuilt image by digest without building or a registry of its own, after the pull permission propagated", () => {
    expect(resources.filter((r) => r.type === "docker-build:index:Image" || r.type === "azure-native:containerregistry:Registry")).toEqual([]);
    const app = find(resources, "azure-native:app:ContainerApp");
    expect(app.inputs.template.containers[0].image).toBe(IMAGE);
    expect(app.inputs.configuration.registries).toEqual([{ server: "contososhared.azurecr.io", identity: app.inputs.identity.userAssignedIdentities[0] }]);
    expect(find(resources, "azure-native:authorization:RoleAssignment", (r) => !r.name.includes("-alert-sync-")).inputs.scope).toBe(SHARED);
    expect(app.options.dependsOn).toContain(find(resources, "time:index/sleep:Sleep").urn);
    expect(outputs.image).toBe(IMAGE);
  });

  it("protects and retains nothing: destroy removes every resource it made", () => {
    expect(resources.filter((r) => r.options.protect || r.options.retainOnDelete)).toEqual([]);
  });

  it("creates no example alert rules unless asked", () => {
    expect(resources.filter((r) => /MetricAlert|ActivityLogAlert|ScheduledQueryRule/.test(r.type))).toEqual([]);
  });
});
