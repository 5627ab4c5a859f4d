/**
 * Where the receiver runs: a Log Analytics workspace and a Container Apps environment (workload
 * profiles, Consumption profile), inside the stack's network when one is given. Its default domain
 * is known once it exists, so the receiver's host name — and the console's redirect URI — are known
 * before the Container App is created.
 */
import * as app from "@pulumi/azure-native/app/index.js";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights/index.js";
import * as pulumi from "@pulumi/pulumi";

export const WORKLOAD_PROFILE = "Consumption";

export interface AppEnvironmentArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  /** Subnet (delegated to Microsoft.App/environments) to run in; unset: Azure's own network. */
  subnetId?: pulumi.Input<string>;
}

export class AppEnvironment extends pulumi.ComponentResource {
  readonly workspace: operationalinsights.Workspace;
  readonly environment: app.ManagedEnvironment;
  /** `{unique id}.{region}.azurecontainerapps.io`: an app's host name is `{app name}.{defaultDomain}`. */
  readonly defaultDomain: pulumi.Output<string>;

  constructor(name: string, args: AppEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-export:index:AppEnvironment", name, {}, opts);
    const parent = { parent: this };
    this.workspace = new operationalinsights.Workspace(
      name,
      { resourceGroupName: args.resourceGroupName, location: args.location, sku: { name: "PerGB2018" }, retentionInDays: 30 },
      parent,
    );
    const keys = operationalinsights.getSharedKeysOutput({ resourceGroupName: args.resourceGroupName, workspaceName: this.workspace.name }, parent);
    this.environment = new app.ManagedEnvironment(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        appLogsConfiguration: {
          destination: "log-analytics",
          // The invoke's result is not marked secret by the SDK: without this the workspace key would
          // sit in plain text in the state and in `pulumi preview --diff`.
          logAnalyticsConfiguration: { customerId: this.workspace.customerId, sharedKey: pulumi.secret(keys.apply((k) => k.primarySharedKey ?? "")) },
        },
        workloadProfiles: [{ name: WORKLOAD_PROFILE, workloadProfileType: WORKLOAD_PROFILE }],
        ...(args.subnetId ? { vnetConfiguration: { infrastructureSubnetId: args.subnetId, internal: false } } : {}),
      },
      parent,
    );
    this.defaultDomain = this.environment.defaultDomain;
    this.registerOutputs({ defaultDomain: this.defaultDomain });
  }
}
