/** A stack deploying the pipeline's image by digest from a shared registry: no build, AcrPull on that registry. */
import { beforeAll, describe, expect, it } from "vitest";
import { find, runProgram, type Registered } from "./pulumi-mocks.ts";

const SHARED = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/shared/providers/Microsoft.ContainerRegistry/registries/contososhared";
const IMAGE = `contososhared.azurecr.io/secure-export-receiver@sha256:${"a".repeat(64)}`;
let resources: Registered[];

beforeAll(async () => {
  ({ resources } = await runProgram({ stack: "prod", config: { image: IMAGE, imageRegistryId: SHARED } }));
});

describe("a stack promoting a prebuilt image", () => {
  it("pulls the digest from the shared registry with the receiver's identity, and builds nothing", () => {
    expect(resources.filter((r) => r.type === "docker-build:index:Image")).toEqual([]);
    const app = find(resources, "azure-native:app:ContainerApp");
    expect(app.inputs.template.containers[0].image).toBe(IMAGE);
    expect(app.inputs.configuration.registries).toContainEqual({ server: "contososhared.azurecr.io", identity: app.inputs.identity.userAssignedIdentities[0] });
    const pull = find(resources, "azure-native:authorization:RoleAssignment", (r) => r.inputs.scope === SHARED);
    expect(pull.inputs).toMatchObject({ principalId: "uai-principal-id", roleDefinitionId: expect.stringMatching(/7f951dda-4ed3-4680-a7ca-43fe172d538d$/) });
  });
});
