/** The preview-identity stack: only the Entra application preview stacks share, owned by the pull-request identity too. */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "../support/paths.ts";
import { APP_CLIENT_ID, APP_OBJECT_ID, AZNS_SP_OBJECT_ID, DEFAULT_DOMAIN, DEPLOYER_OBJECT_ID, OUR_SP_OBJECT_ID, TENANT_ID, find, runProgram, type Registered } from "./pulumi-mocks.ts";

let resources: Registered[];
let outputs: Record<string, unknown>;
const PR_PIPELINE = "9a9a9a9a-0000-4000-8000-00000000009a";

beforeAll(async () => {
  // The committed stack file's settings, with the pull-request pipeline as an owner.
  const committed = parse(readFileSync(`${REPO_ROOT}/Pulumi.preview-identity.yaml`, "utf8")).config as Record<string, unknown>;
  expect(committed["secure-export:identityOnly"]).toBe(true);
  expect(committed["secure-export:sharedEnvironment"]).toBe(true);
  ({ resources, outputs } = await runProgram({ stack: "preview-identity", config: { identityOnly: "true", sharedEnvironment: "true", owners: JSON.stringify([PR_PIPELINE, DEPLOYER_OBJECT_ID]) } }));
});

describe("identity-only stack", () => {
  it("creates only the application (identifier URI, pre-authorization, service principal, AzNS role assignment) and the environment previews share", () => {
    expect([...new Set(resources.filter((r) => !r.type.startsWith("pulumi:") && !r.type.startsWith("secure-export:")).map((r) => r.type))].sort()).toEqual([
      "azure-native:app:ManagedEnvironment",
      "azure-native:operationalinsights:Workspace",
      "azure-native:resources:ResourceGroup",
      "azuread:index/appRoleAssignment:AppRoleAssignment",
      "azuread:index/application:Application",
      "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri",
      "azuread:index/applicationPreAuthorized:ApplicationPreAuthorized",
      "azuread:index/servicePrincipal:ServicePrincipal",
      "time:index/sleep:Sleep",
    ]);
    expect(find(resources, "azuread:index/appRoleAssignment:AppRoleAssignment").inputs.principalObjectId).toBe(AZNS_SP_OBJECT_ID);
    expect(find(resources, "azuread:index/application:Application").inputs.singlePageApplication).toBeUndefined();
  });

  it("makes the pull-request pipeline an owner (it creates the action groups) and protects the application", () => {
    const app = find(resources, "azuread:index/application:Application");
    expect(app.inputs.owners).toEqual([DEPLOYER_OBJECT_ID, PR_PIPELINE].sort());
    expect(app.options.protect).toBe(true);
    expect(find(resources, "azuread:index/servicePrincipal:ServicePrincipal").inputs.owners).toEqual([DEPLOYER_OBJECT_ID, PR_PIPELINE].sort());
  });

  it("exports exactly what preview stacks read through their StackReference", () => {
    expect(Object.fromEntries(Object.entries(outputs).filter(([, v]) => v !== undefined))).toEqual({
      clientId: APP_CLIENT_ID,
      appIdUri: `api://${APP_CLIENT_ID}`,
      applicationObjectId: APP_OBJECT_ID,
      servicePrincipalObjectId: OUR_SP_OBJECT_ID,
      tenantId: TENANT_ID,
      environmentId: `${find(resources, "azure-native:app:ManagedEnvironment").name}-id`,
      environmentDefaultDomain: DEFAULT_DOMAIN,
      workspaceId: `${find(resources, "azure-native:operationalinsights:Workspace").name}-id`,
    });
    // No private network: preview stacks use no database server.
    expect(find(resources, "azure-native:app:ManagedEnvironment").inputs.vnetConfiguration).toBeUndefined();
  });
});
