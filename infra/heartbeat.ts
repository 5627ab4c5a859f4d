/**
 * What the heartbeat needs in Azure (docs/deploy/pulumi.md#the-heartbeat): the receiver's identity
 * may send test notifications through the stack's own action group and read their status, on that
 * action group only. (It must also own the application — webhook-identity.ts `serviceOwners` —
 * because Azure lets only an owner create, modify or test a secure webhook.)
 *
 * No built-in role is that narrow: Monitoring Contributor carries Microsoft.Insights/actiongroups/*
 * and Microsoft.Insights/createNotifications/* on everything in its scope. The Azure permissions
 * reference (Microsoft.Insights) lists `Microsoft.Insights/CreateNotifications/Write` "Send test
 * notifications to the provided receiver list" and `Microsoft.Insights/NotificationStatus/Read` "Get
 * the test notification status/detail"; the call at action-group level is also recorded in the
 * Activity Log as an operation under the action group (`Microsoft.Insights/actiongroups/createNotifications/action`),
 * which the reference does not list, so the role allows the action group's own operations and
 * takes away the ones that change or delete it.
 */
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import * as pulumi from "@pulumi/pulumi";

export const HEARTBEAT_ACTIONS = ["Microsoft.Insights/CreateNotifications/Write", "Microsoft.Insights/NotificationStatus/Read", "Microsoft.Insights/ActionGroups/*"] as const;
/** The action group's own writes: the heartbeat only tests it, never changes it. */
export const HEARTBEAT_NOT_ACTIONS = [
  "Microsoft.Insights/ActionGroups/Write",
  "Microsoft.Insights/ActionGroups/Delete",
  "Microsoft.Insights/actionGroups/NetworkSecurityPerimeterAssociationProxies/Write",
  "Microsoft.Insights/actionGroups/NetworkSecurityPerimeterAssociationProxies/Delete",
  "Microsoft.Insights/actionGroups/NetworkSecurityPerimeterConfigurations/Reconcile/Action",
] as const;

export interface HeartbeatAccessArgs {
  /** The receiver's user-assigned identity. */
  principalId: pulumi.Input<string>;
  /** The stack's resource group: where the role is defined (a custom role's assignable scope cannot be one resource). */
  resourceGroupId: pulumi.Input<string>;
  /** The stack's action group: the only scope it is assigned at. */
  actionGroupId: pulumi.Input<string>;
  /** Makes the role's name unique in the tenant (custom role names are tenant-wide). */
  stack: string;
}

export class HeartbeatAccess extends pulumi.ComponentResource {
  readonly role: authorization.RoleDefinition;
  readonly assignment: authorization.RoleAssignment;

  constructor(name: string, args: HeartbeatAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-export:index:HeartbeatAccess", name, {}, opts);
    this.role = new authorization.RoleDefinition(
      `${name}-heartbeat`,
      {
        scope: args.resourceGroupId,
        roleName: `secure-export heartbeat (${args.stack})`,
        description: "Send test notifications through an action group and read their status (the receiver's heartbeat), without changing the action group.",
        roleType: "CustomRole",
        permissions: [{ actions: [...HEARTBEAT_ACTIONS], notActions: [...HEARTBEAT_NOT_ACTIONS] }],
        assignableScopes: [args.resourceGroupId],
      },
      { parent: this },
    );
    this.assignment = new authorization.RoleAssignment(
      `${name}-heartbeat`,
      { principalId: args.principalId, principalType: "ServicePrincipal", roleDefinitionId: this.role.id, scope: args.actionGroupId },
      { parent: this },
    );
    this.registerOutputs({ roleId: this.role.id });
  }
}
