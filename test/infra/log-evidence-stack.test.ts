/**
 * Log evidence's Azure pieces (docs/deploy/pulumi.md#log-evidence): the receiver's identity gets the
 * built-in Log Analytics Data Reader role on each workspace in `evidenceWorkspaces`; the receiver is told LOG_EVIDENCE and LOG_ANALYTICS_ENDPOINT. Every recorded input
 * is checked against the provider schema.
 */
import { describe, expect, it } from "vitest";
import { LOG_ANALYTICS_DATA_READER_ROLE_ID, parseEvidenceWorkspaces } from "../../infra/log-evidence.ts";
import { renderReceiverEnvironment } from "../../infra/receiver-environment.ts";
import { DEPLOYER_OBJECT_ID, UAMI, envOf, find, runProgram } from "./pulumi-mocks.ts";
import { schemaProblems } from "./provider-schema.ts";

const SUB = "22222222-3333-4444-5555-666666666666";
const WS1 = `/subscriptions/${SUB}/resourceGroups/monitoring/providers/Microsoft.OperationalInsights/workspaces/central-logs`;
const WS2 = "/subscriptions/33333333-4444-5555-6666-777777777777/resourceGroups/app-rg/providers/Microsoft.OperationalInsights/workspaces/app-logs-01";

describe("a stack with evidenceWorkspaces", () => {
  it("grants the identity Log Analytics Data Reader on each workspace, the role under the workspace's subscription, and turns log evidence on", async () => {
    const { resources } = await runProgram({ stack: "staging", config: { owners: DEPLOYER_OBJECT_ID, evidenceWorkspaces: JSON.stringify([WS1, WS2]) } });
    expect(resources.flatMap((r) => schemaProblems(r.type, r.inputs))).toEqual([]);
    const grants = resources.filter((r) => r.type === "azure-native:authorization:RoleAssignment" && r.name.includes("-log-evidence-"));
    expect(grants.map((g) => [g.inputs.scope, g.inputs.principalId, g.inputs.principalType, g.inputs.roleDefinitionId])).toEqual([
      [WS1, UAMI.principalId, "ServicePrincipal", `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${LOG_ANALYTICS_DATA_READER_ROLE_ID}`],
      [WS2, UAMI.principalId, "ServicePrincipal", `/subscriptions/33333333-4444-5555-6666-777777777777/providers/Microsoft.Authorization/roleDefinitions/${LOG_ANALYTICS_DATA_READER_ROLE_ID}`],
    ]);
    expect(envOf(find(resources, "azure-native:app:ContainerApp"))).toMatchObject({ LOG_EVIDENCE: { value: "on" }, LOG_ANALYTICS_ENDPOINT: { value: "https://api.loganalytics.io" }, AZURE_CLIENT_ID: { value: UAMI.clientId } });
  });

  it("turns log evidence off without them (Pulumi runs one program per test file: the environment is rendered alone)", () => {
    const render = (logEvidence: boolean) =>
      renderReceiverEnvironment({ tenantId: "t", appIdUri: "api://x", clientId: "c", database: { mode: "embedded" }, azure: { identityClientId: UAMI.clientId, alertSync: true, logEvidence }, connectors: { extraEnvironment: {} }, secrets: {}, join: (parts) => parts.join("") }).env;
    expect(render(false)).toContainEqual({ name: "LOG_EVIDENCE", value: "off" });
    expect(render(true)).toContainEqual({ name: "LOG_EVIDENCE", value: "on" });
  });
});

describe("parseEvidenceWorkspaces", () => {
  it("takes a JSON list or a comma-separated one, each workspace once whatever its case", () => {
    expect(parseEvidenceWorkspaces({})).toEqual([]);
    expect(parseEvidenceWorkspaces({ evidenceWorkspaces: `${WS1}, ${WS2}` })).toEqual([WS1, WS2]);
    expect(parseEvidenceWorkspaces({ evidenceWorkspaces: JSON.stringify([WS1, WS1.toLowerCase()]) })).toHaveLength(1);
  });

  it.each([
    ["a subscription", `/subscriptions/${SUB}`],
    ["another resource type", `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Insights/components/app`],
    ["a workspace GUID (the query API's id, not the resource id)", "dddd3333-ee44-5555-66ff-777777aaaaaa"],
    ["a name Azure would refuse", `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/-bad-`],
    ["a subscription that is no GUID", "/subscriptions/prod/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/logs"],
  ])("refuses %s, naming the key", (_, id) => {
    expect(() => parseEvidenceWorkspaces({ evidenceWorkspaces: JSON.stringify([id]) })).toThrow(/^secure-export:evidenceWorkspaces must list Log Analytics workspace resource ids/);
  });

  it("refuses what is not a list of strings", () => {
    expect(() => parseEvidenceWorkspaces({ evidenceWorkspaces: "[1]" })).toThrow(/evidenceWorkspaces must be a list of strings/);
    expect(() => parseEvidenceWorkspaces({ evidenceWorkspaces: "[oops" })).toThrow(/evidenceWorkspaces must be a JSON list/);
  });
});
