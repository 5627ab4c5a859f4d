/**
 * The program for a production stack under Pulumi mocks: the wiring Azure Monitor, the read API
 * and the database depend on. One program run per file (Pulumi keeps state on `global`).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { APP_CLIENT_ID, APP_OBJECT_ID, AZNS_SP_OBJECT_ID, DB_ADMIN_UAMI, DEPLOYER_OBJECT_ID, OUR_SP_OBJECT_ID, TENANT_ID, UAMI, containsSecret, envOf, find, fqdnOf, runProgram, type Registered } from "./pulumi-mocks.ts";

let resources: Registered[];
const receiverIdentity = () => find(resources, "azure-native:managedidentity:UserAssignedIdentity", (r) => !r.name.endsWith("-db-admin"));
let outputs: Record<string, unknown>;
const FQDN = fqdnOf("prod");
const OWNER = "0b0b0b0b-0000-4000-8000-00000000000b";
const SHARED_ACR_ID = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/shared/providers/Microsoft.ContainerRegistry/registries/contososhared";
const IMAGE = `contososhared.azurecr.io/secure-export-receiver@sha256:${"a".repeat(64)}`;
const READER = "1e1e1e1e-0000-4000-8000-00000000001e";
const OPERATOR = "0e0e0e0e-0000-4000-8000-00000000000e";
// Fixed on purpose: assignments made with these ids must survive every later deployment.
const WEBHOOK_ROLE_ID = "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b01";
const READER_ROLE_ID = "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b02";
const OPERATOR_ROLE_ID = "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b03";

beforeAll(async () => {
  ({ resources, outputs } = await runProgram({
    stack: "prod",
    config: {
      location: "westeurope",
      actionGroupShortName: "secexp-prod",
      exampleAlertRules: "true",
      minReplicas: "2",
      maxReplicas: "5",
      postgresSku: "Standard_B2s",
      image: IMAGE,
      imageRegistryId: SHARED_ACR_ID,
      owners: JSON.stringify([OWNER, DEPLOYER_OBJECT_ID]),
      readers: JSON.stringify([READER]),
      operators: JSON.stringify([OPERATOR]),
    },
  }));
});

describe("production stack", () => {
  it("points the action group's secure webhook at the receiver, with the application's object id and App ID URI", () => {
    const group = find(resources, "azure-native:monitor:ActionGroup");
    expect(group.inputs).toMatchObject({ location: "Global", enabled: true, groupShortName: "secexp-prod" });
    expect(group.inputs.webhookReceivers).toEqual([
      { name: "secure-export", serviceUri: `https://${FQDN}/api/alerts`, useAadAuth: true, objectId: APP_OBJECT_ID, identifierUri: `api://${APP_CLIENT_ID}`, tenantId: TENANT_ID, useCommonAlertSchema: true },
    ]);
  });

  it("creates the action group only after the receiver and after Entra had time to replicate the App ID URI and the AzNS role assignment", () => {
    const group = find(resources, "azure-native:monitor:ActionGroup");
    const replication = find(resources, "time:index/sleep:Sleep", (r) => r.name.endsWith("-entra-replication"));
    expect(group.options.dependsOn).toEqual(expect.arrayContaining([replication.urn, find(resources, "azure-native:app:ContainerApp").urn]));
    expect(replication.options.dependsOn).toEqual(expect.arrayContaining([
      find(resources, "azuread:index/appRoleAssignment:AppRoleAssignment", (r) => r.inputs.appRoleId === WEBHOOK_ROLE_ID).urn,
      find(resources, "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri").urn,
    ]));
    expect(replication.inputs.createDuration).toBe("60s");
  });

  it("gives the application its roles, a delegated scope the Azure CLI may use, v1 tokens and the console redirect URI; owners are exactly the config's (the deployer among them) and the receiver's identity", () => {
    const app = find(resources, "azuread:index/application:Application");
    // The receiver's identity owns the application (not its service principal): Azure lets only an owner test its secure webhook.
    expect(app.inputs.owners).toEqual([OWNER, DEPLOYER_OBJECT_ID, UAMI.principalId].sort());
    expect(find(resources, "azuread:index/servicePrincipal:ServicePrincipal").inputs.owners).toEqual([OWNER, DEPLOYER_OBJECT_ID].sort());
    expect(app.inputs.api).toMatchObject({ requestedAccessTokenVersion: 1, oauth2PermissionScopes: [expect.objectContaining({ value: "user_impersonation", type: "User", enabled: true })] });
    expect(app.inputs.appRoles.map((r: any) => [r.value, r.allowedMemberTypes, r.id])).toEqual([
      ["ActionGroupsSecureWebhook", ["Application"], WEBHOOK_ROLE_ID],
      ["Incidents.Read", ["User", "Application"], READER_ROLE_ID],
      ["Incidents.Operate", ["User", "Application"], OPERATOR_ROLE_ID],
      ["Itsm.Sync", ["Application"], "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b04"],
    ]);
    expect(app.inputs.singlePageApplication).toEqual({ redirectUris: [`https://${FQDN}/console/`, `https://${FQDN}/docs/static/oauth2-redirect.html`] });
    expect(outputs.consoleUrl).toBe(`https://${FQDN}/console/`);
    expect(find(resources, "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri").inputs).toEqual({ applicationId: `${app.name}-id`, identifierUri: `api://${APP_CLIENT_ID}` });
    const scopeId = app.inputs.api.oauth2PermissionScopes[0].id;
    expect(find(resources, "azuread:index/applicationPreAuthorized:ApplicationPreAuthorized").inputs).toEqual({ applicationId: `${app.name}-id`, authorizedClientId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", permissionIds: [scopeId] });
  });

  it("assigns the webhook role to the tenant's AzNS principal it looked up, and the reader/operator roles to the configured principals", () => {
    const assignments = resources.filter((r) => r.type === "azuread:index/appRoleAssignment:AppRoleAssignment").map((r) => r.inputs);
    expect(assignments).toEqual(expect.arrayContaining([
      { appRoleId: WEBHOOK_ROLE_ID, principalObjectId: AZNS_SP_OBJECT_ID, resourceObjectId: OUR_SP_OBJECT_ID },
      { appRoleId: READER_ROLE_ID, principalObjectId: READER, resourceObjectId: OUR_SP_OBJECT_ID },
      { appRoleId: READER_ROLE_ID, principalObjectId: OPERATOR, resourceObjectId: OUR_SP_OBJECT_ID },
      { appRoleId: OPERATOR_ROLE_ID, principalObjectId: OPERATOR, resourceObjectId: OUR_SP_OBJECT_ID },
    ]));
    expect(assignments).toHaveLength(4);
    expect(resources.filter((r) => r.type === "azuread:index/servicePrincipal:ServicePrincipal").map((r) => r.inputs.clientId)).toEqual([APP_CLIENT_ID]);
  });

  it("configures the receiver to accept exactly the audiences and tenant the webhook sends, from Azure Monitor only, and tells the console the client id", () => {
    const env = envOf(find(resources, "azure-native:app:ContainerApp"));
    expect(env).toMatchObject({
      PORT: { value: "8080" },
      ENTRA_TENANT_ID: { value: TENANT_ID },
      ENTRA_AUDIENCES: { value: `api://${APP_CLIENT_ID},${APP_CLIENT_ID}` },
      ENTRA_CLIENT_ID: { value: APP_CLIENT_ID },
      ENTRA_ALLOWED_CALLERS: { value: "461e8683-5575-4561-ac7f-899cc907d62a" },
      ENTRA_REQUIRED_ROLE: { value: "ActionGroupsSecureWebhook" },
    });
    expect(env.ENTRA_AUDIENCES!.value!.split(",")).toContain(find(resources, "azure-native:monitor:ActionGroup").inputs.webhookReceivers[0].identifierUri);
  });

  it("connects to PostgreSQL as the receiver's identity with an Entra token: no password anywhere, verify-full, a pool sized for 2 x maxReplicas", () => {
    const server = find(resources, "azure-native:dbforpostgresql:Server");
    expect(server.inputs.authConfig).toEqual({ activeDirectoryAuth: "Enabled", passwordAuth: "Disabled", tenantId: TENANT_ID });
    expect(server.inputs.administratorLoginPassword).toBeUndefined();
    expect(server.inputs.sku).toEqual({ name: "Standard_B2s", tier: "Burstable" });
    const admin = find(resources, "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra");
    const identity = receiverIdentity();
    const administrator = find(resources, "azure-native:managedidentity:UserAssignedIdentity", (r) => r.name.endsWith("-db-admin"));
    // The server's administrator is not the receiver: the receiver's role has data rights only.
    expect(admin.inputs).toMatchObject({ objectId: DB_ADMIN_UAMI.principalId, principalName: `${administrator.name}4f00d1e5`, tenantId: TENANT_ID });
    const env = envOf(find(resources, "azure-native:app:ContainerApp"));
    expect(env).toMatchObject({
      DATABASE_URL: { value: `postgres://${identity.name}4f00d1e5@${server.name}.postgres.database.azure.com:5432/secure_export?sslmode=verify-full` },
      DATABASE_AUTH: { value: "azure-managed-identity" },
      AZURE_CLIENT_ID: { value: UAMI.clientId },
      // B2s: 414 user connections, 5 kept for operators, 2 x 5 replicas during a rollout.
      DATABASE_POOL_MAX: { value: "40" },
    });
    expect(resources.filter((r) => r.type.startsWith("random:index/randomPassword"))).toEqual([]);
    expect(JSON.stringify(resources.map((r) => r.inputs))).not.toMatch(/password=|:[^/@]+@[^/]*postgres\.database/i);
  });

  it("keeps the database private: server in a delegated subnet with its private DNS zone, no firewall rule, environment in the same network", () => {
    expect(resources.filter((r) => r.type === "azure-native:dbforpostgresql:FirewallRule")).toEqual([]);
    const server = find(resources, "azure-native:dbforpostgresql:Server");
    const vnet = find(resources, "azure-native:network:VirtualNetwork");
    const zone = find(resources, "azure-native:privatedns:PrivateZone");
    expect(server.inputs.network).toEqual({ delegatedSubnetResourceId: `${vnet.name}-id/subnets/postgres`, privateDnsZoneArmResourceId: `${zone.name}-id`, publicNetworkAccess: "Disabled" });
    expect(zone.inputs.privateZoneName).toBe("secexp-prod.private.postgres.database.azure.com");
    expect(find(resources, "azure-native:privatedns:VirtualNetworkLink").inputs).toMatchObject({ virtualNetwork: { id: `${vnet.name}-id` }, registrationEnabled: false });
    expect(vnet.inputs.subnets).toEqual([
      { name: "container-apps", addressPrefix: "10.42.0.0/23", delegations: [{ name: "Microsoft.App.environments", serviceName: "Microsoft.App/environments" }] },
      { name: "postgres", addressPrefix: "10.42.2.0/24", delegations: [{ name: "Microsoft.DBforPostgreSQL.flexibleServers", serviceName: "Microsoft.DBforPostgreSQL/flexibleServers" }] },
    ]);
    expect(find(resources, "azure-native:app:ManagedEnvironment").inputs.vnetConfiguration).toEqual({ infrastructureSubnetId: `${vnet.name}-id/subnets/container-apps`, internal: false });
  });

  it("runs the receiver with HTTPS-only external ingress, startup, liveness and readiness probes, an HTTP scale rule", () => {
    const app = find(resources, "azure-native:app:ContainerApp");
    expect(app.inputs.containerAppName).toBe("secexp-prod");
    expect(app.inputs.configuration.ingress).toEqual({ external: true, targetPort: 8080, transport: "http", allowInsecure: false });
    expect(app.inputs.template.containers[0].probes.map((p: any) => [p.type, p.httpGet.path])).toEqual([["Startup", "/healthz"], ["Liveness", "/healthz"], ["Readiness", "/readyz"]]);
    expect(app.inputs.template.scale).toEqual({ minReplicas: 2, maxReplicas: 5, rules: [{ name: "http", http: { metadata: { concurrentRequests: "50" } } }] });
    expect(app.inputs.identity).toEqual({ type: "UserAssigned", userAssignedIdentities: [`${receiverIdentity().name}-id`] });
  });

  it("runs the migrations before the receiver starts: a job in the private environment, as the database administrator, granting the receiver's role data rights only", () => {
    const job = find(resources, "azure-native:app:Job");
    const server = find(resources, "azure-native:dbforpostgresql:Server");
    const administrator = find(resources, "azure-native:managedidentity:UserAssignedIdentity", (r) => r.name.endsWith("-db-admin"));
    expect(job.inputs).toMatchObject({
      jobName: "secure-export-migrate",
      environmentId: `${find(resources, "azure-native:app:ManagedEnvironment").name}-id`,
      identity: { type: "UserAssigned", userAssignedIdentities: [`${administrator.name}-id`] },
      configuration: { triggerType: "Manual", registries: [{ server: "contososhared.azurecr.io", identity: `${administrator.name}-id` }] },
    });
    const [container] = job.inputs.template.containers;
    expect(container.image).toBe(IMAGE);
    expect(container.command).toEqual(["node", "receiver/src/migrate-job.ts"]);
    expect(Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]))).toEqual({
      DATABASE_URL: `postgres://${administrator.name}4f00d1e5@${server.name}.postgres.database.azure.com:5432/secure_export?sslmode=verify-full`,
      DATABASE_AUTH: "azure-managed-identity",
      AZURE_CLIENT_ID: DB_ADMIN_UAMI.clientId,
      RECEIVER_DATABASE_ROLE: `${receiverIdentity().name}4f00d1e5`,
      RECEIVER_DATABASE_OBJECT_ID: UAMI.principalId,
    });
    // The administrator pulls the image with its own AcrPull grant; the job waits for it and the database.
    const pull = find(resources, "azure-native:authorization:RoleAssignment", (r) => r.inputs.principalId === DB_ADMIN_UAMI.principalId);
    expect(pull.inputs.scope).toBe(SHARED_ACR_ID);
    expect(job.options.dependsOn).toEqual(expect.arrayContaining([pull.urn, find(resources, "azure-native:dbforpostgresql:Database").urn]));
    // Started by `pulumi up` (az containerapp job start, then waits), re-run when the image or the receiver's role changes; the app waits for it.
    const ran = find(resources, "command:local:Command");
    expect(ran.inputs.create).toContain('az containerapp job start --subscription "$SUBSCRIPTION" --resource-group "$GROUP" --name "$JOB"');
    expect(ran.inputs.environment).toMatchObject({ JOB: "secure-export-migrate" });
    expect(ran.inputs.triggers).toEqual(expect.arrayContaining([IMAGE, `${receiverIdentity().name}4f00d1e5`, UAMI.principalId]));
    expect(find(resources, "azure-native:app:ContainerApp").options.dependsOn).toContain(ran.urn);
  });

  it("runs the recorded digest from the shared registry, builds nothing, and waits for the pull permission", () => {
    expect(resources.filter((r) => r.type === "docker-build:index:Image" || r.type === "azure-native:containerregistry:Registry")).toEqual([]);
    expect(find(resources, "azure-native:app:ContainerApp").inputs.template.containers[0].image).toBe(IMAGE);
    const pull = find(resources, "azure-native:authorization:RoleAssignment", (r) => r.inputs.principalId === UAMI.principalId && !r.name.includes("-alert-sync-") && !r.name.endsWith("-heartbeat"));
    expect(pull.inputs).toMatchObject({ principalId: UAMI.principalId, principalType: "ServicePrincipal", roleDefinitionId: "/subscriptions/00000000-1111-2222-3333-444444444444/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d" });
    const wait = find(resources, "time:index/sleep:Sleep", (r) => r.name.endsWith("-pull-permission-propagation"));
    expect(wait.inputs.createDuration).toBe("120s");
    expect(find(resources, "azure-native:app:ContainerApp").options.dependsOn).toContain(wait.urn);
  });

  it("keeps the Log Analytics key secret in the environment's inputs", () => {
    const environment = find(resources, "azure-native:app:ManagedEnvironment");
    expect(environment.inputs.appLogsConfiguration.logAnalyticsConfiguration.sharedKey).toBe("workspace-key");
    expect(containsSecret(environment.rawInputs.appLogsConfiguration)).toBe(true);
  });

  it("protects the data and the identity in production", () => {
    expect(find(resources, "azure-native:dbforpostgresql:Server").options.protect).toBe(true);
    expect(find(resources, "azure-native:dbforpostgresql:Database").options.protect).toBe(true);
    expect(find(resources, "azuread:index/application:Application").options.protect).toBe(true);
  });

  it("creates the example alert rules routed to the action group, the log rule without validating a table that does not exist yet", () => {
    const groupId = `${find(resources, "azure-native:monitor:ActionGroup").name}-id`;
    expect(find(resources, "azure-native:monitor:MetricAlert").inputs.actions).toEqual([{ actionGroupId: groupId }]);
    expect(find(resources, "azure-native:monitor:ActivityLogAlert").inputs.actions).toEqual({ actionGroups: [{ actionGroupId: groupId }] });
    const log = find(resources, "azure-native:monitor:ScheduledQueryRule");
    expect(log.inputs.actions).toEqual({ actionGroups: [groupId] });
    expect(log.inputs.skipQueryValidation).toBe(true);
  });

  it("the heartbeat: the receiver is told its own action group, public URL and application object id, and may test that action group only, without changing it", () => {
    const group = find(resources, "azure-native:monitor:ActionGroup");
    expect(group.inputs.actionGroupName).toBe("secexp-prod");
    const env = envOf(find(resources, "azure-native:app:ContainerApp"));
    const rgName = find(resources, "azure-native:resources:ResourceGroup").name;
    expect(env.HEARTBEAT_ACTION_GROUP_ID!.value).toMatch(new RegExp(`^/subscriptions/[^/]+/resourceGroups/${rgName}[^/]*/providers/Microsoft\\.Insights/actionGroups/secexp-prod$`));
    expect(env.PUBLIC_URL).toEqual({ value: `https://${FQDN}` });
    expect(env.ENTRA_APP_OBJECT_ID).toEqual({ value: APP_OBJECT_ID });
    expect(env.HEARTBEAT_INTERVAL).toBeUndefined();
    const role = find(resources, "azure-native:authorization:RoleDefinition", (r) => r.name.endsWith("-heartbeat"));
    expect(role.inputs.permissions).toEqual([
      {
        actions: ["Microsoft.Insights/CreateNotifications/Write", "Microsoft.Insights/NotificationStatus/Read", "Microsoft.Insights/ActionGroups/*"],
        notActions: expect.arrayContaining(["Microsoft.Insights/ActionGroups/Write", "Microsoft.Insights/ActionGroups/Delete"]),
      },
    ]);
    const assignment = find(resources, "azure-native:authorization:RoleAssignment", (r) => r.name.endsWith("-heartbeat"));
    expect(assignment.inputs).toMatchObject({ principalId: UAMI.principalId, principalType: "ServicePrincipal", scope: `${group.name}-id` });
    // A custom role cannot be assignable at one resource: defined for the resource group, assigned at the action group.
    expect(role.inputs.assignableScopes).toEqual([role.inputs.scope]);
  });

  it("exports what a pipeline and an operator need", () => {
    expect(outputs).toMatchObject({
      webhookUrl: `https://${FQDN}/api/alerts`,
      receiverFqdn: FQDN,
      appIdUri: `api://${APP_CLIENT_ID}`,
      clientId: APP_CLIENT_ID,
      applicationObjectId: APP_OBJECT_ID,
      servicePrincipalObjectId: OUR_SP_OBJECT_ID,
      tenantId: TENANT_ID,
      actionGroupId: expect.stringMatching(/-id$/),
      databaseMode: "postgres",
    });
  });
});
