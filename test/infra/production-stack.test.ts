/**
 * The program for a production stack under Pulumi mocks: the wiring Azure Monitor depends on.
 * One program run per file (Pulumi keeps state on `global`).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { APP_ROLE_IDS } from "../../infra/webhook-identity.ts";
import { APP_CLIENT_ID, APP_OBJECT_ID, AZNS_SP_OBJECT_ID, FQDN, OUR_SP_OBJECT_ID, TENANT_ID, containsSecret, envOf, find, runProgram, type Registered } from "./pulumi-mocks.ts";

let resources: Registered[];
let outputs: Record<string, unknown>;

beforeAll(async () => {
  ({ resources, outputs } = await runProgram({
    stack: "prod",
    config: { location: "westeurope", namePrefix: "secexp", actionGroupShortName: "secexp-prod", exampleAlertRules: "true", minReplicas: "2", maxReplicas: "5" },
  }));
});

describe("production stack", () => {
  it("points the action group's secure webhook at the receiver, with the application's object id and App ID URI", () => {
    const group = find(resources, "azure-native:monitor:ActionGroup");
    expect(group.inputs).toMatchObject({ location: "Global", enabled: true, groupShortName: "secexp-prod" });
    expect(group.inputs.webhookReceivers).toEqual([
      {
        name: "secure-export",
        serviceUri: `https://${FQDN}/api/alerts`,
        useAadAuth: true,
        objectId: APP_OBJECT_ID,
        identifierUri: `api://${APP_CLIENT_ID}`,
        tenantId: TENANT_ID,
        useCommonAlertSchema: true,
      },
    ]);
  });

  it("creates the action group only after the AzNS role assignment", () => {
    const group = find(resources, "azure-native:monitor:ActionGroup");
    const assignment = find(resources, "azuread:index/appRoleAssignment:AppRoleAssignment");
    expect(group.options.dependsOn).toContain(`urn:pulumi:prod::secure-export::secure-export:index:WebhookIdentity$azuread:index/appRoleAssignment:AppRoleAssignment::${assignment.name}`);
  });

  it("gives the application the webhook role for apps and reader/operator roles, v1 tokens, and the deployer as owner", () => {
    const app = find(resources, "azuread:index/application:Application");
    expect(app.inputs.owners).toEqual(["d3p10y3r-0000-4000-8000-000000000001"]);
    expect(app.inputs.api).toEqual({ requestedAccessTokenVersion: 1 });
    expect(app.inputs.appRoles.map((r: any) => [r.value, r.allowedMemberTypes, r.id])).toEqual([
      ["ActionGroupsSecureWebhook", ["Application"], APP_ROLE_IDS.ActionGroupsSecureWebhook],
      ["Incidents.Read", ["User", "Application"], APP_ROLE_IDS["Incidents.Read"]],
      ["Incidents.Operate", ["User", "Application"], APP_ROLE_IDS["Incidents.Operate"]],
    ]);
    expect(find(resources, "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri").inputs).toEqual({ applicationId: `${app.name}-id`, identifierUri: `api://${APP_CLIENT_ID}` });
  });

  it("assigns the webhook role from the tenant's AzNS service principal to ours, and never deletes the shared one", () => {
    expect(find(resources, "azuread:index/appRoleAssignment:AppRoleAssignment").inputs).toEqual({
      appRoleId: APP_ROLE_IDS.ActionGroupsSecureWebhook,
      principalObjectId: AZNS_SP_OBJECT_ID,
      resourceObjectId: OUR_SP_OBJECT_ID,
    });
    const azns = find(resources, "azuread:index/servicePrincipal:ServicePrincipal", (r) => r.inputs.clientId === "461e8683-5575-4561-ac7f-899cc907d62a");
    expect(azns.inputs.useExisting).toBe(true);
    expect(azns.options.retainOnDelete).toBe(true);
    expect(azns.options.protect).toBe(false);
  });

  it("configures the receiver to accept exactly the audiences and tenant the webhook sends, from Azure Monitor only", () => {
    const env = envOf(find(resources, "azure-native:app:ContainerApp"));
    expect(env).toMatchObject({
      PORT: { value: "8080" },
      ENTRA_TENANT_ID: { value: TENANT_ID },
      ENTRA_AUDIENCES: { value: `api://${APP_CLIENT_ID},${APP_CLIENT_ID}` },
      ENTRA_ALLOWED_CALLERS: { value: "461e8683-5575-4561-ac7f-899cc907d62a" },
      ENTRA_REQUIRED_ROLE: { value: "ActionGroupsSecureWebhook" },
      DATABASE_URL: { secretRef: "database-url" },
    });
    expect(env.ENTRA_AUDIENCES!.value!.split(",")).toContain(find(resources, "azure-native:monitor:ActionGroup").inputs.webhookReceivers[0].identifierUri);
  });

  it("runs the receiver with HTTPS-only external ingress, probes, at least one replica, an HTTP scale rule and AcrPull identity", () => {
    const app = find(resources, "azure-native:app:ContainerApp");
    expect(app.inputs.configuration.ingress).toEqual({ external: true, targetPort: 8080, transport: "http", allowInsecure: false });
    const container = app.inputs.template.containers[0];
    expect(container.probes).toEqual([
      { type: "Liveness", httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 10, failureThreshold: 3 },
      { type: "Readiness", httpGet: { path: "/readyz", port: 8080 }, periodSeconds: 10, failureThreshold: 3 },
    ]);
    expect(app.inputs.template.scale).toEqual({ minReplicas: 2, maxReplicas: 5, rules: [{ name: "http", http: { metadata: { concurrentRequests: "50" } } }] });
    expect(app.inputs.identity.type).toBe("UserAssigned");
    expect(app.inputs.configuration.registries[0].identity).toBe(app.inputs.identity.userAssignedIdentities[0]);
    const acrPull = find(resources, "azure-native:authorization:RoleAssignment");
    expect(acrPull.inputs.roleDefinitionId).toBe("/subscriptions/00000000-1111-2222-3333-444444444444/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d");
    expect(acrPull.inputs.principalId).toBe("uai-principal-id");
  });

  it("keeps the database password in a Container App secret, never in plain env", () => {
    const app = find(resources, "azure-native:app:ContainerApp");
    expect(app.inputs.configuration.secrets).toEqual([{ name: "database-url", value: expect.stringMatching(/^postgres:\/\/secureexport:generated-password@.+\.postgres\.database\.azure\.com:5432\/secure_export\?sslmode=require$/) }]);
    expect(JSON.stringify(app.inputs.template)).not.toContain("generated-password");
    expect(containsSecret(app.rawInputs.configuration)).toBe(true);
    expect(containsSecret(find(resources, "azure-native:monitor:ActionGroup").rawInputs.webhookReceivers)).toBe(false);
  });

  it("builds the receiver image into the stack's registry when no image is configured", () => {
    const image = find(resources, "docker-build:index:Image");
    expect(image.inputs).toMatchObject({ push: true, dockerfile: { location: "./receiver/Dockerfile" }, platforms: ["linux/amd64"] });
    expect(find(resources, "azure-native:app:ContainerApp").inputs.template.containers[0].image).toMatch(/@sha256:/);
  });

  it("protects the data and the identity in production", () => {
    expect(find(resources, "azure-native:dbforpostgresql:Server").options.protect).toBe(true);
    expect(find(resources, "azure-native:dbforpostgresql:Database").options.protect).toBe(true);
    expect(find(resources, "azuread:index/application:Application").options.protect).toBe(true);
  });

  it("creates the example alert rules routed to the action group", () => {
    const groupId = `${find(resources, "azure-native:monitor:ActionGroup").name}-id`;
    expect(find(resources, "azure-native:monitor:MetricAlert").inputs.actions).toEqual([{ actionGroupId: groupId }]);
    expect(find(resources, "azure-native:monitor:ActivityLogAlert").inputs.actions).toEqual({ actionGroups: [{ actionGroupId: groupId }] });
    expect(find(resources, "azure-native:monitor:ScheduledQueryRule").inputs.actions).toEqual({ actionGroups: [groupId] });
  });

  it("exports what a pipeline and an operator need", () => {
    expect(outputs).toMatchObject({
      webhookUrl: `https://${FQDN}/api/alerts`,
      receiverFqdn: FQDN,
      appIdUri: `api://${APP_CLIENT_ID}`,
      clientId: APP_CLIENT_ID,
      applicationObjectId: APP_OBJECT_ID,
      tenantId: TENANT_ID,
      actionGroupId: expect.stringMatching(/-id$/),
      databaseMode: "postgres",
    });
  });
});
