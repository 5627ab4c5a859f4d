/**
 * What the closed loop needs in Azure and Entra (docs/deploy/pulumi.md#the-closed-loop):
 * - a least-privilege custom role for the receiver's identity — read alerts, change their state,
 *   query Resource Graph — assigned at the configured scopes (default: the stack's subscription);
 *   no built-in role is that narrow (Monitoring Contributor carries Microsoft.AlertsManagement/alerts/*
 *   and action groups);
 * - the `Itsm.Sync` app role (webhook-identity.ts) assigned to each ITSM client application in
 *   `itsmSyncClients`, looked up by its application id, never managed here.
 */
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import * as azuread from "@pulumi/azuread";
import * as pulumi from "@pulumi/pulumi";

/**
 * The operations the receiver performs, and nothing else ("Azure permissions for Monitor":
 * Microsoft.AlertsManagement/alerts/read "Get all the alerts for the input filters",
 * …/alerts/changestate/action "Change the state of the alert"; Microsoft.ResourceGraph/resources/read
 * "Submits a Resource Graph query", which returns only what alerts/read lets it see).
 */
export const ALERT_SYNC_ACTIONS = ["Microsoft.AlertsManagement/alerts/read", "Microsoft.AlertsManagement/alerts/changestate/action", "Microsoft.ResourceGraph/resources/read"] as const;

export interface AlertSyncAccessArgs {
  /** The receiver's user-assigned identity. */
  principalId: pulumi.Input<string>;
  /** Where it may read and change alerts (closed-loop-config.ts checked them). */
  scopes: pulumi.Input<string>[];
  /** Makes the role's name unique in the tenant (custom role names are tenant-wide). */
  stack: string;
}

export class AlertSyncAccess extends pulumi.ComponentResource {
  readonly role: authorization.RoleDefinition;
  readonly assignments: authorization.RoleAssignment[];

  constructor(name: string, args: AlertSyncAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-export:index:AlertSyncAccess", name, {}, opts);
    const [first] = args.scopes;
    if (!first) throw new Error("AlertSyncAccess needs at least one scope");
    this.role = new authorization.RoleDefinition(
      `${name}-alert-sync`,
      {
        // Created at the first scope, assignable at each.
        scope: first,
        roleName: `secure-export alert sync (${args.stack})`,
        description: "Read Azure Monitor alerts and change their state (the receiver closes the alerts of incidents closed in the ITSM, and reconciles open incidents).",
        roleType: "CustomRole",
        permissions: [{ actions: [...ALERT_SYNC_ACTIONS] }],
        assignableScopes: args.scopes,
      },
      { parent: this },
    );
    this.assignments = args.scopes.map(
      (scope, index) =>
        new authorization.RoleAssignment(
          `${name}-alert-sync-${index}`,
          { principalId: args.principalId, principalType: "ServicePrincipal", roleDefinitionId: this.role.id, scope },
          { parent: this },
        ),
    );
    this.registerOutputs({ roleId: this.role.id });
  }
}

/** Gives each ITSM client application the `Itsm.Sync` app role on our service principal. */
export function assignItsmSyncClients(
  name: string,
  args: { servicePrincipalObjectId: pulumi.Input<string>; appRoleId: string; clients: readonly string[] },
  opts: pulumi.CustomResourceOptions,
): azuread.AppRoleAssignment[] {
  return args.clients.map((clientId) => {
    const client = azuread.getServicePrincipalOutput({ clientId }, { parent: opts.parent });
    return new azuread.AppRoleAssignment(
      `${name}-itsm-sync-${clientId}`,
      { appRoleId: args.appRoleId, principalObjectId: client.objectId, resourceObjectId: args.servicePrincipalObjectId },
      opts,
    );
  });
}
