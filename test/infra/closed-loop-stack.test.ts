/**
 * The closed loop's Azure and Entra pieces (docs/deploy/pulumi.md#the-closed-loop): a custom role
 * with exactly the operations the receiver performs, assigned to its identity at the configured
 * scopes; the Itsm.Sync app role for the configured ITSM clients; the receiver's variables. Every
 * recorded input is checked against the provider schema.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseClosedLoop } from "../../infra/closed-loop-config.ts";
import { ALERT_SYNC_ACTIONS } from "../../infra/closed-loop.ts";
import { renderReceiverEnvironment } from "../../infra/receiver-environment.ts";
import { DEPLOYER_OBJECT_ID, OUR_SP_OBJECT_ID, SERVICENOW_SYNC_CLIENT, UAMI, envOf, find, runProgram, type Registered } from "./pulumi-mocks.ts";
import { schemaProblems } from "./provider-schema.ts";

const OTHER_SUB = "/subscriptions/22222222-3333-4444-5555-666666666666";
const MG = "/providers/Microsoft.Management/managementGroups/landing-zones";
const SYNC_ROLE_ID = "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b04";

describe("a stack with the closed loop", () => {
  let resources: Registered[];
  beforeAll(async () => {
    ({ resources } = await runProgram({
      stack: "staging",
      // A stack deployed before the heartbeat keeps its auto-named action group (docs/deploy/pulumi.md#the-heartbeat).
      config: { owners: DEPLOYER_OBJECT_ID, itsmSyncClients: JSON.stringify([SERVICENOW_SYNC_CLIENT.clientId]), alertSyncScopes: JSON.stringify([OTHER_SUB, MG]), actionGroupName: "secexp-staging1a2b3c4d" },
    }));
  });

  it("records only inputs the providers' schemas take", () => {
    expect(resources.flatMap((r) => schemaProblems(r.type, r.inputs))).toEqual([]);
  });

  it("keeps the action group the config names, and tells the receiver its id", () => {
    expect(find(resources, "azure-native:monitor:ActionGroup").inputs.actionGroupName).toBe("secexp-staging1a2b3c4d");
    expect(envOf(find(resources, "azure-native:app:ContainerApp")).HEARTBEAT_ACTION_GROUP_ID!.value).toMatch(/\/providers\/Microsoft\.Insights\/actionGroups\/secexp-staging1a2b3c4d$/);
  });

  it("gives the receiver's identity a custom role with exactly read, change state and Resource Graph queries, at each configured scope", () => {
    const role = find(resources, "azure-native:authorization:RoleDefinition", (r) => r.name.endsWith("-alert-sync"));
    expect(role.inputs).toMatchObject({ scope: OTHER_SUB, roleName: "secure-export alert sync (staging)", roleType: "CustomRole", assignableScopes: [OTHER_SUB, MG] });
    expect(role.inputs.permissions).toEqual([{ actions: [...ALERT_SYNC_ACTIONS] }]);
    expect(ALERT_SYNC_ACTIONS).toEqual(["Microsoft.AlertsManagement/alerts/read", "Microsoft.AlertsManagement/alerts/changestate/action", "Microsoft.ResourceGraph/resources/read"]);
    const assignments = resources.filter((r) => r.type === "azure-native:authorization:RoleAssignment" && r.name.includes("-alert-sync-"));
    expect(assignments.map((a) => [a.inputs.scope, a.inputs.principalId, a.inputs.principalType, a.inputs.roleDefinitionId])).toEqual([
      [OTHER_SUB, UAMI.principalId, "ServicePrincipal", `${role.name}-id`],
      [MG, UAMI.principalId, "ServicePrincipal", `${role.name}-id`],
    ]);
  });

  it("gives each ITSM client application the Itsm.Sync role, its service principal looked up, never managed", () => {
    const sync = resources.filter((r) => r.type === "azuread:index/appRoleAssignment:AppRoleAssignment" && r.inputs.appRoleId === SYNC_ROLE_ID);
    expect(sync.map((a) => [a.inputs.principalObjectId, a.inputs.resourceObjectId])).toEqual([[SERVICENOW_SYNC_CLIENT.objectId, OUR_SP_OBJECT_ID]]);
    expect(resources.filter((r) => r.type === "azuread:index/servicePrincipal:ServicePrincipal").map((r) => r.inputs.clientId)).not.toContain(SERVICENOW_SYNC_CLIENT.clientId);
  });

  it("tells the receiver its identity (also with the embedded store), the write-back and the sync role", () => {
    expect(envOf(find(resources, "azure-native:app:ContainerApp"))).toMatchObject({ AZURE_CLIENT_ID: { value: UAMI.clientId }, AZURE_ALERT_SYNC: { value: "on" }, ENTRA_SYNC_ROLE: { value: "Itsm.Sync" } });
  });
});

describe("alertSync: false", () => {
  it("turns the write-back off in the receiver's environment", () => {
    const render = (alertSync: boolean) =>
      renderReceiverEnvironment({ tenantId: "t", appIdUri: "api://x", clientId: "c", database: { mode: "embedded" }, azure: { identityClientId: UAMI.clientId, alertSync }, connectors: { extraEnvironment: {} }, secrets: {}, join: (parts) => parts.join("") }).env;
    expect(render(false)).toContainEqual({ name: "AZURE_ALERT_SYNC", value: "off" });
    expect(render(true)).toContainEqual({ name: "AZURE_ALERT_SYNC", value: "on" });
  });
});

describe("parseClosedLoop", () => {
  it("refuses what is not an application id or an RBAC scope, and sync clients on a stack that does not own the application", () => {
    expect(() => parseClosedLoop({ itsmSyncClients: "servicenow" }, true)).toThrow(/itsmSyncClients must list application \(client\) ids/);
    expect(() => parseClosedLoop({ alertSyncScopes: '["/subscriptions/not-a-guid"]' }, true)).toThrow(/alertSyncScopes must list subscriptions/);
    expect(() => parseClosedLoop({ alertSyncScopes: '["/subscriptions/22222222-3333-4444-5555-666666666666/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"]' }, true)).toThrow(/alertSyncScopes/);
    expect(() => parseClosedLoop({ alertSync: "yes" }, true)).toThrow(/alertSync must be true or false/);
    expect(() => parseClosedLoop({ itsmSyncClients: SERVICENOW_SYNC_CLIENT.clientId }, false)).toThrow(/has no effect with identityStack/);
    expect(parseClosedLoop({ itsmSyncClients: `${SERVICENOW_SYNC_CLIENT.clientId.toUpperCase()},${SERVICENOW_SYNC_CLIENT.clientId}` }, true)).toEqual({ itsmSyncClients: [SERVICENOW_SYNC_CLIENT.clientId], alertSync: true, alertSyncScopes: [] });
  });
});
