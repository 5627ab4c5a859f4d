/**
 * Alert routing (docs/deploy/pulumi.md#deploying-with-pulumi): the action group whose secure webhook posts to the receiver with
 * an Entra token, and optional example alert rules that prove the path on a new environment.
 */
import * as monitor from "@pulumi/azure-native/monitor/index.js";
import * as pulumi from "@pulumi/pulumi";

/** An action group's resource id, known before it exists (the receiver's HEARTBEAT_ACTION_GROUP_ID). */
export function actionGroupResourceId(subscriptionId: pulumi.Input<string>, resourceGroupName: pulumi.Input<string>, name: string): pulumi.Output<string> {
  return pulumi.interpolate`/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.Insights/actionGroups/${name}`;
}

export interface AlertRoutingArgs {
  resourceGroupName: pulumi.Input<string>;
  /** The action group's Azure name (azure-names.ts `actionGroup`). */
  actionGroupName: string;
  /** At most 12 characters (Azure's limit; parseStackConfig refuses longer ones). */
  shortName: string;
  webhookUrl: pulumi.Input<string>;
  /** The application's OBJECT id — not its client id, not the service principal's. */
  applicationObjectId: pulumi.Input<string>;
  /** The App ID URI the receiver accepts as audience. */
  identifierUri: pulumi.Input<string>;
  tenantId: pulumi.Input<string>;
  /** Resources the action group must wait for: the role assignment that lets Azure Monitor get tokens. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
  /** Example rules (metric, activity log, log search) routed to the action group. Default: none. */
  examples?: { containerAppId: pulumi.Input<string>; resourceGroupId: pulumi.Input<string>; workspaceId: pulumi.Input<string>; location: pulumi.Input<string> };
}

export class AlertRouting extends pulumi.ComponentResource {
  readonly actionGroup: monitor.ActionGroup;

  constructor(name: string, args: AlertRoutingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-export:index:AlertRouting", name, {}, opts);

    this.actionGroup = new monitor.ActionGroup(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        actionGroupName: args.actionGroupName,
        location: "Global",
        enabled: true,
        groupShortName: args.shortName,
        webhookReceivers: [
          {
            name: "secure-export",
            serviceUri: args.webhookUrl,
            useAadAuth: true,
            objectId: args.applicationObjectId,
            identifierUri: args.identifierUri,
            tenantId: args.tenantId,
            useCommonAlertSchema: true,
          },
        ],
      },
      { parent: this, dependsOn: args.dependsOn },
    );

    if (args.examples) this.exampleRules(name, args.resourceGroupName, args.examples);
    this.registerOutputs({ actionGroupId: this.actionGroup.id });
  }

  private exampleRules(name: string, resourceGroupName: pulumi.Input<string>, examples: NonNullable<AlertRoutingArgs["examples"]>): void {
    const parent = { parent: this };
    new monitor.MetricAlert(
      `${name}-example-metric`,
      {
        resourceGroupName,
        location: "global",
        description: "secure-export example: the receiver restarted (stateful: fires and resolves).",
        enabled: true,
        severity: 3,
        scopes: [examples.containerAppId],
        evaluationFrequency: "PT1M",
        windowSize: "PT5M",
        autoMitigate: true,
        criteria: {
          odataType: "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
          allOf: [{ criterionType: "StaticThresholdCriterion", name: "restarts", metricName: "RestartCount", operator: "GreaterThan", threshold: 0, timeAggregation: "Maximum" }],
        },
        actions: [{ actionGroupId: this.actionGroup.id }],
      },
      parent,
    );
    new monitor.ActivityLogAlert(
      `${name}-example-activity`,
      {
        resourceGroupName,
        location: "global",
        description: "secure-export example: an administrative write in the stack's resource group.",
        enabled: true,
        scopes: [examples.resourceGroupId],
        condition: { allOf: [{ field: "category", equals: "Administrative" }, { field: "operationName", equals: "Microsoft.Resources/tags/write" }] },
        actions: { actionGroups: [{ actionGroupId: this.actionGroup.id }] },
      },
      parent,
    );
    new monitor.ScheduledQueryRule(
      `${name}-example-log`,
      {
        resourceGroupName,
        location: examples.location,
        description: "secure-export example: the receiver logged an error.",
        enabled: true,
        kind: "LogAlert",
        // The table appears only once the new environment has shipped logs; Azure validates the
        // query at creation and would refuse the first `pulumi up` ("Failed to resolve table").
        skipQueryValidation: true,
        severity: 2,
        scopes: [examples.workspaceId],
        evaluationFrequency: "PT5M",
        windowSize: "PT5M",
        criteria: {
          allOf: [{ query: 'ContainerAppConsoleLogs_CL | where Log_s has "\\"level\\":50"', timeAggregation: "Count", operator: "GreaterThan", threshold: 0 }],
        },
        actions: { actionGroups: [this.actionGroup.id] },
      },
      parent,
    );
  }
}
