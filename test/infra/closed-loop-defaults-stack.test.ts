/** Without alertSyncScopes, the receiver's identity may read and close the alerts of the stack's own subscription. */
import { beforeAll, expect, it } from "vitest";
import { DEPLOYER_OBJECT_ID, SUBSCRIPTION_ID, UAMI, find, runProgram, type Registered } from "./pulumi-mocks.ts";

let resources: Registered[];
beforeAll(async () => {
  ({ resources } = await runProgram({ stack: "staging", config: { owners: DEPLOYER_OBJECT_ID } }));
});

it("assigns the alert-sync role at the stack's subscription by default", () => {
  const role = find(resources, "azure-native:authorization:RoleDefinition", (r) => r.name.endsWith("-alert-sync"));
  expect(role.inputs).toMatchObject({ scope: `/subscriptions/${SUBSCRIPTION_ID}`, assignableScopes: [`/subscriptions/${SUBSCRIPTION_ID}`] });
  const assignment = find(resources, "azure-native:authorization:RoleAssignment", (r) => r.name.includes("-alert-sync-"));
  expect(assignment.inputs).toMatchObject({ scope: `/subscriptions/${SUBSCRIPTION_ID}`, principalId: UAMI.principalId });
});
