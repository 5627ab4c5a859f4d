/**
 * The Entra side of secure export: our application with its app roles, delegated scope and App ID
 * URI, its service principal, and the role assignments that let Azure Monitor (the tenant's shared
 * AzNS AAD Webhook principal, looked up and never managed) and the configured readers and operators
 * get tokens for us.
 */
import * as azuread from "@pulumi/azuread";
import * as pulumi from "@pulumi/pulumi";
import * as time from "@pulumiverse/time";
import { AZNS_WEBHOOK_CLIENT_ID, AZURE_CLI_CLIENT_ID, DELEGATED_SCOPE, ROLES } from "../receiver/src/contract.ts";
import { assignItsmSyncClients } from "./closed-loop.ts";
import { StackConfigError } from "./stack-config-error.ts";

/** Fixed ids: stable across deployments, so assignments and pre-authorizations survive an update. */
export const APP_ROLE_IDS = {
  [ROLES.webhook]: "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b01",
  [ROLES.reader]: "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b02",
  [ROLES.operator]: "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b03",
  [ROLES.sync]: "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b04",
} as const;
export const DELEGATED_SCOPE_ID = "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b10";

/**
 * v1 tokens (Entra's default) are what Microsoft documents for secure webhooks: `aud` is the App
 * ID URI and the issuer sts.windows.net. The receiver accepts the client id too, so a later switch
 * to v2 does not break it.
 */
export const REQUESTED_ACCESS_TOKEN_VERSION = 1;

/** How long new Entra objects get to replicate before Azure Monitor is pointed at them. */
export const ENTRA_REPLICATION_WAIT = "60s";

/** Microsoft Graph's application id: the resource of the OpenID Connect scopes. */
export const MICROSOFT_GRAPH_CLIENT_ID = "00000003-0000-0000-c000-000000000000";
/**
 * What the web console asks Entra for when it signs a user in (receiver/console/auth.js:
 * `openid profile offline_access {appIdUri}/user_impersonation`): the OpenID Connect scopes, which
 * belong to Microsoft Graph, and our own delegated scope. test/infra/cli-program-run.test.ts reads
 * auth.js and holds the grants below to exactly these.
 */
export const CONSOLE_GRAPH_SCOPES = ["openid", "profile", "offline_access"] as const;

export interface WebhookIdentityArgs {
  /** Display name of the application. */
  displayName: pulumi.Input<string>;
  /**
   * Object id of the identity running `pulumi up`: it must be among `owners`, else Azure refuses
   * the action group (AadWebhookResourceNotOwnedByCaller) and Application.ReadWrite.OwnedBy cannot
   * update the application.
   */
  deployerObjectId: pulumi.Input<string>;
  /**
   * Every identity that deploys this stack (pipeline service principals, admins): exactly the
   * owners of the application and its service principal. The deployer is not added on the fly, so
   * ownership never follows "whoever ran last" and a person's run cannot drop the pipeline.
   */
  owners: string[];
  /** Object ids given the Incidents.Read role. Default none. */
  readers?: string[];
  /** Object ids given the Incidents.Read and Incidents.Operate roles. Default none. */
  operators?: string[];
  /**
   * Where users sign in to the receiver as a single-page application: the console
   * (https://{receiver host}/console/) and /docs (its OAuth redirect page). Default none.
   */
  signInRedirectUris?: pulumi.Input<string>[];
  /** Application (client) ids given the Itsm.Sync role (closed-loop.ts). Default none. */
  itsmSyncClients?: string[];
  /** Keep the application on `pulumi destroy`. Default false. */
  protect?: boolean;
  /**
   * Service principals that also own the application (not its service principal): the receiver's
   * managed identity, which sends the heartbeat — Azure requires the caller testing a secure
   * webhook to own its application (docs/deploy/pulumi.md#the-heartbeat). Default none.
   */
  serviceOwners?: pulumi.Input<string>[];
}

export class WebhookIdentity extends pulumi.ComponentResource {
  readonly application: azuread.Application;
  readonly applicationObjectId: pulumi.Output<string>;
  readonly clientId: pulumi.Output<string>;
  readonly appIdUri: pulumi.Output<string>;
  readonly servicePrincipal: azuread.ServicePrincipal;
  readonly servicePrincipalObjectId: pulumi.Output<string>;
  readonly webhookRoleAssignment: azuread.AppRoleAssignment;
  /** What Entra must have replicated before Azure Monitor can get a token for the application. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: WebhookIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-export:index:WebhookIdentity", name, {}, opts);
    const protect = args.protect ?? false;
    const owners = pulumi.output(args.deployerObjectId).apply((deployer) => {
      if (!args.owners.includes(deployer.toLowerCase())) {
        throw new StackConfigError(
          "owners",
          `does not list the identity running this update (object id ${deployer}): list every identity that deploys this stack — the pipeline's service principal and each admin — so that no run removes another's ownership (pulumi config set secure-export:owners '["<object id>", …]')`,
        );
      }
      return [...args.owners].sort();
    });

    // Owners of the application: the deployers, and the services that must own it (the heartbeat).
    const applicationOwners = pulumi.all([owners, pulumi.all(args.serviceOwners ?? [])]).apply(([people, services]) => [...new Set([...people, ...services.map((s) => s.toLowerCase())])].sort());
    this.application = new azuread.Application(
      name,
      {
        displayName: args.displayName,
        owners: applicationOwners,
        signInAudience: "AzureADMyOrg",
        api: {
          requestedAccessTokenVersion: REQUESTED_ACCESS_TOKEN_VERSION,
          oauth2PermissionScopes: [
            {
              id: DELEGATED_SCOPE_ID,
              value: DELEGATED_SCOPE,
              type: "User",
              enabled: true,
              adminConsentDisplayName: "Access secure-export",
              adminConsentDescription: "Read incidents (and, with the operator role, act on them) as the signed-in user.",
              userConsentDisplayName: "Access secure-export",
              userConsentDescription: "Read incidents as you.",
            },
          ],
        },
        appRoles: [
          { id: APP_ROLE_IDS[ROLES.webhook], value: ROLES.webhook, displayName: "Action groups secure webhook", description: "Azure Monitor action groups may post alerts.", allowedMemberTypes: ["Application"], enabled: true },
          { id: APP_ROLE_IDS[ROLES.reader], value: ROLES.reader, displayName: "Read incidents", description: "Read incidents, configuration items and deliveries.", allowedMemberTypes: ["User", "Application"], enabled: true },
          { id: APP_ROLE_IDS[ROLES.operator], value: ROLES.operator, displayName: "Operate incidents", description: "Resolve incidents and replay deliveries.", allowedMemberTypes: ["User", "Application"], enabled: true },
          // A separate door from the webhook's: an ITSM's client application pushes ticket changes (closed-loop.ts).
          { id: APP_ROLE_IDS[ROLES.sync], value: ROLES.sync, displayName: "ITSM ticket sync", description: "An ITSM reports changes people made to its tickets.", allowedMemberTypes: ["Application"], enabled: true },
        ],
        ...(args.signInRedirectUris?.length ? { singlePageApplication: { redirectUris: args.signInRedirectUris } } : {}),
      },
      // ApplicationIdentifierUri below owns the App ID URI. identifierUris is a plain optional
      // attribute here: without ignoring it, the next update of the application (or any update
      // after a `pulumi refresh`) removes the URI (pulumi/pulumi-azuread#1036;
      // applicationIdentifierUri.d.ts: "you should use the ignoreChanges lifecycle meta-argument").
      { parent: this, protect, ignoreChanges: ["identifierUris"] },
    );
    this.applicationObjectId = this.application.objectId;
    this.clientId = this.application.clientId;

    // The URI names the client id, which exists only once the application does.
    const identifierUri = new azuread.ApplicationIdentifierUri(
      name,
      { applicationId: this.application.id, identifierUri: pulumi.interpolate`api://${this.application.clientId}` },
      { parent: this, protect },
    );
    this.appIdUri = identifierUri.identifierUri;

    // `az account get-access-token --scope api://{clientId}/user_impersonation` without a consent prompt.
    // The Application never writes api.preAuthorizedApplications (terraform-provider-azuread
    // application_resource.go has no reference to it), so this resource and the application coexist.
    new azuread.ApplicationPreAuthorized(
      `${name}-azure-cli`,
      { applicationId: this.application.id, authorizedClientId: AZURE_CLI_CLIENT_ID, permissionIds: [DELEGATED_SCOPE_ID] },
      { parent: this, dependsOn: [identifierUri] },
    );

    this.servicePrincipal = new azuread.ServicePrincipal(
      name,
      { clientId: this.application.clientId, owners, appRoleAssignmentRequired: true },
      { parent: this, protect },
    );
    this.servicePrincipalObjectId = this.servicePrincipal.objectId;

    // Shared by every action group of the tenant and owned by Microsoft: read it, never manage it
    // (managing it, even with useExisting, PATCHes its settings). docs/deploy/pulumi.md says how an admin creates
    // it once in a tenant that lacks it.
    const azns = azuread.getServicePrincipalOutput({ clientId: AZNS_WEBHOOK_CLIENT_ID }, { parent: this });

    this.webhookRoleAssignment = new azuread.AppRoleAssignment(
      `${name}-azns-webhook-role`,
      { appRoleId: APP_ROLE_IDS[ROLES.webhook], principalObjectId: azns.objectId, resourceObjectId: this.servicePrincipal.objectId },
      { parent: this, dependsOn: [identifierUri] },
    );

    // Entra is eventually consistent ("Designing for eventual consistency for Microsoft Entra"):
    // Azure Monitor checks the App ID URI and the AzNS assignment when the action group is created,
    // possibly against a replica that has not seen them yet (AadWebhookApplicationUriNotFound). A
    // wait on their creation (not on later updates or on destroy: @pulumiverse/time Sleep) lets
    // them replicate first.
    this.ready = [
      new time.Sleep(
        `${name}-entra-replication`,
        { createDuration: ENTRA_REPLICATION_WAIT, triggers: { identifierUri: identifierUri.id, webhookRole: this.webhookRoleAssignment.id } },
        { parent: this, dependsOn: [identifierUri, this.webhookRoleAssignment] },
      ),
    ];

    // The console signs users in as this application. An application whose service principal
    // requires assignment "must have their permissions consented by an administrator, even if the
    // user consent policies … would otherwise allow a user to consent" (Microsoft Learn, "Manage
    // users and groups assignment to an application"), and pre-authorizing itself covers only our
    // own scope, not Graph's OpenID Connect scopes: without these grants every user stops at "Need
    // admin approval" (AADSTS90094). Both are tenant-wide (no userObjectId), i.e. admin consent for
    // exactly the scopes the console requests; who may sign in is still decided by the role
    // assignments below (appRoleAssignmentRequired).
    if (args.signInRedirectUris?.length) {
      const graph = azuread.getServicePrincipalOutput({ clientId: MICROSOFT_GRAPH_CLIENT_ID }, { parent: this });
      new azuread.ServicePrincipalDelegatedPermissionGrant(
        `${name}-console-sign-in`,
        { servicePrincipalObjectId: this.servicePrincipal.objectId, resourceServicePrincipalObjectId: graph.objectId, claimValues: [...CONSOLE_GRAPH_SCOPES] },
        { parent: this },
      );
      new azuread.ServicePrincipalDelegatedPermissionGrant(
        `${name}-console-api`,
        { servicePrincipalObjectId: this.servicePrincipal.objectId, resourceServicePrincipalObjectId: this.servicePrincipal.objectId, claimValues: [DELEGATED_SCOPE] },
        { parent: this, dependsOn: [identifierUri] },
      );
    }

    const assign = (role: keyof typeof APP_ROLE_IDS, principals: string[]) => {
      for (const principal of principals) {
        new azuread.AppRoleAssignment(
          `${name}-${role}-${principal}`,
          { appRoleId: APP_ROLE_IDS[role], principalObjectId: principal, resourceObjectId: this.servicePrincipal.objectId },
          { parent: this },
        );
      }
    };
    const operators = args.operators ?? [];
    assign(ROLES.reader, [...new Set([...(args.readers ?? []), ...operators])]);
    assign(ROLES.operator, operators);
    assignItsmSyncClients(name, { servicePrincipalObjectId: this.servicePrincipal.objectId, appRoleId: APP_ROLE_IDS[ROLES.sync], clients: args.itsmSyncClients ?? [] }, { parent: this, dependsOn: [identifierUri] });

    this.registerOutputs({ applicationObjectId: this.applicationObjectId, clientId: this.clientId, appIdUri: this.appIdUri, servicePrincipalObjectId: this.servicePrincipalObjectId });
  }
}
