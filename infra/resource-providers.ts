/**
 * The Azure resource providers the program needs registered in a subscription before its first
 * `pulumi up` there. azure-native sends plain ARM requests and registers nothing itself (only the
 * portal and template deployments register providers on the fly: Microsoft Learn, "Azure resource
 * providers and types"; pulumi/pulumi-azure-native#3479), so a fresh subscription answers
 * MissingSubscriptionRegistration ("The subscription is not registered to use namespace …").
 *
 * `ARM_RESOURCE_TYPES` maps each azure-native type token (and invoke) the program uses to the ARM
 * resource type it manages, from pulumi/pulumi-azure-native reports/tokenPaths.json (the token's
 * REST path, `…/providers/<Namespace>/<type>/…`). test/infra/cli-program-run.test.ts fails for any
 * type the program registers that is missing here, so a new resource type cannot skip registration.
 * The pipelines register `RESOURCE_PROVIDERS` before every `up` (`node infra/pipeline/cli.ts
 * resource-providers`), and docs/deploy/pulumi.md has a person do the same.
 */

export const ARM_RESOURCE_TYPES: Readonly<Record<string, string | null>> = {
  "azure-native:resources:ResourceGroup": "Microsoft.Resources/resourceGroups",
  "azure-native:managedidentity:UserAssignedIdentity": "Microsoft.ManagedIdentity/userAssignedIdentities",
  "azure-native:network:VirtualNetwork": "Microsoft.Network/virtualNetworks",
  "azure-native:privatedns:PrivateZone": "Microsoft.Network/privateDnsZones",
  "azure-native:privatedns:VirtualNetworkLink": "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
  "azure-native:operationalinsights:Workspace": "Microsoft.OperationalInsights/workspaces",
  "azure-native:operationalinsights:getSharedKeys": "Microsoft.OperationalInsights/workspaces",
  "azure-native:app:ManagedEnvironment": "Microsoft.App/managedEnvironments",
  "azure-native:app:ContainerApp": "Microsoft.App/containerApps",
  "azure-native:app:Job": "Microsoft.App/jobs",
  "azure-native:dbforpostgresql:Server": "Microsoft.DBforPostgreSQL/flexibleServers",
  "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra": "Microsoft.DBforPostgreSQL/flexibleServers/administrators",
  "azure-native:dbforpostgresql:Database": "Microsoft.DBforPostgreSQL/flexibleServers/databases",
  "azure-native:authorization:RoleAssignment": "Microsoft.Authorization/roleAssignments",
  "azure-native:authorization:RoleDefinition": "Microsoft.Authorization/roleDefinitions",
  // Reads the provider's own credentials: no ARM request.
  "azure-native:authorization:getClientConfig": null,
  "azure-native:containerregistry:Registry": "Microsoft.ContainerRegistry/registries",
  "azure-native:containerregistry:listRegistryCredentials": "Microsoft.ContainerRegistry/registries",
  "azure-native:applicationinsights:Component": "Microsoft.Insights/components",
  "azure-native:monitor:ActionGroup": "Microsoft.Insights/actionGroups",
  "azure-native:monitor:MetricAlert": "Microsoft.Insights/metricAlerts",
  "azure-native:monitor:ActivityLogAlert": "Microsoft.Insights/activityLogAlerts",
  "azure-native:monitor:ScheduledQueryRule": "Microsoft.Insights/scheduledQueryRules",
};

/**
 * Registered in every subscription from its creation, and never unregistered (Microsoft Learn,
 * "Resource providers for Azure services": "registered by default").
 */
export const REGISTERED_BY_DEFAULT: ReadonlySet<string> = new Set(["Microsoft.Authorization", "Microsoft.Resources"]);

/** The namespace of an ARM resource type (`Microsoft.App/containerApps` → `Microsoft.App`). */
export function namespaceOf(armType: string): string {
  return armType.split("/")[0]!;
}

/** What a subscription must have registered for the program: every namespace above but the default ones. */
export const RESOURCE_PROVIDERS: readonly string[] = [
  ...new Set(Object.values(ARM_RESOURCE_TYPES).flatMap((type) => (type ? [namespaceOf(type)] : []))),
]
  .filter((namespace) => !REGISTERED_BY_DEFAULT.has(namespace))
  .sort();
