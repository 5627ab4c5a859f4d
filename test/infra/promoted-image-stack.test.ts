/** A stack deploying the pipeline's image by digest from a shared registry in another subscription: no build, AcrPull on that registry. */
import { beforeAll, describe, expect, it } from "vitest";
import { DEPLOYER_OBJECT_ID, find, runProgram, type Registered } from "./pulumi-mocks.ts";

const SHARED = "/subscriptions/99999999-8888-7777-6666-555555555555/resourceGroups/shared/providers/Microsoft.ContainerRegistry/registries/contososhared";
const IMAGE = `contososhared.azurecr.io/secure-export-receiver@sha256:${"a".repeat(64)}`;
let resources: Registered[];

beforeAll(async () => {
  ({ resources } = await runProgram({ stack: "prod", config: { image: IMAGE, imageRegistryId: SHARED, owners: DEPLOYER_OBJECT_ID } }));
});

describe("a stack promoting a prebuilt image", () => {
  it("pulls the digest from the shared registry with the receiver's identity, and builds nothing and creates no registry", () => {
    expect(resources.filter((r) => r.type === "docker-build:index:Image" || r.type === "azure-native:containerregistry:Registry")).toEqual([]);
    const app = find(resources, "azure-native:app:ContainerApp");
    expect(app.inputs.template.containers[0].image).toBe(IMAGE);
    expect(app.inputs.configuration.registries).toEqual([{ server: "contososhared.azurecr.io", identity: app.inputs.identity.userAssignedIdentities[0] }]);
    const pull = find(resources, "azure-native:authorization:RoleAssignment", (r) => r.inputs.scope === SHARED && r.inputs.principalId === "uai-principal-id");
    // The role definition named in the registry's subscription, as ARM stores it.
    expect(pull.inputs).toMatchObject({ principalId: "uai-principal-id", roleDefinitionId: "/subscriptions/99999999-8888-7777-6666-555555555555/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d" });
  });
});
