/**
 * The Entra side of secure export (DESIGN.md §8): our application with its app roles and App ID
 * URI, its service principal, the tenant's shared AzNS AAD Webhook service principal, and the
 * role assignment that lets Azure Monitor get tokens for us.
 */
import * as azuread from "@pulumi/azuread";
import * as pulumi from "@pulumi/pulumi";
import { AZNS_WEBHOOK_CLIENT_ID, OPERATOR_ROLE, READER_ROLE, WEBHOOK_ROLE } from "./receiver-environment.ts";

/** Fixed app role ids: stable across deployments, so assignments survive an update. */
export const APP_ROLE_IDS = {
  [WEBHOOK_ROLE]: "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b01",
  [READER_ROLE]: "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b02",
  [OPERATOR_ROLE]: "0d3b6b3f-5d2b-4c1e-9a35-7a3f0c1e5b03",
} as const;

/**
 * v1 tokens (Entra's default) are what Microsoft documents for secure webhooks: `aud` is the App
 * ID URI and the issuer sts.windows.net. The receiver accepts the client id too, so a later switch
 * to v2 does not break it.
 */
export const REQUESTED_ACCESS_TOKEN_VERSION = 1;

export interface WebhookIdentityArgs {
  /** Display name of the application. */
  displayName: pulumi.Input<string>;
  /** Object id of the identity running `pulumi up`; made an owner, else Azure refuses the action group (AadWebhookResourceNotOwnedByCaller). */
  deployerObjectId: pulumi.Input<string>;
  /** Keep the application on `pulumi destroy`. Default false. */
  protect?: boolean;
}

export class WebhookIdentity extends pulumi.ComponentResource {
  readonly application: azuread.Application;
  readonly applicationObjectId: pulumi.Output<string>;
  readonly clientId: pulumi.Output<string>;
  readonly appIdUri: pulumi.Output<string>;
  readonly servicePrincipal: azuread.ServicePrincipal;
  readonly aznsServicePrincipal: azuread.ServicePrincipal;
  readonly webhookRoleAssignment: azuread.AppRoleAssignment;

  constructor(name: string, args: WebhookIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-export:index:WebhookIdentity", name, {}, opts);
    const protect = args.protect ?? false;

    this.application = new azuread.Application(
      name,
      {
        displayName: args.displayName,
        owners: [args.deployerObjectId],
        signInAudience: "AzureADMyOrg",
        api: { requestedAccessTokenVersion: REQUESTED_ACCESS_TOKEN_VERSION },
        appRoles: [
          { id: APP_ROLE_IDS[WEBHOOK_ROLE], value: WEBHOOK_ROLE, displayName: "Action groups secure webhook", description: "Azure Monitor action groups may post alerts.", allowedMemberTypes: ["Application"], enabled: true },
          { id: APP_ROLE_IDS[READER_ROLE], value: READER_ROLE, displayName: "Read incidents", description: "Read incidents, configuration items and deliveries.", allowedMemberTypes: ["User", "Application"], enabled: true },
          { id: APP_ROLE_IDS[OPERATOR_ROLE], value: OPERATOR_ROLE, displayName: "Operate incidents", description: "Resolve incidents and replay deliveries.", allowedMemberTypes: ["User", "Application"], enabled: true },
        ],
      },
      { parent: this, protect },
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

    this.servicePrincipal = new azuread.ServicePrincipal(
      name,
      { clientId: this.application.clientId, owners: [args.deployerObjectId], appRoleAssignmentRequired: true },
      { parent: this, protect },
    );

    // Shared by every action group of the tenant: adopt it if it exists, create it if not, and
    // never delete it — `useExisting` alone would still delete it on destroy.
    this.aznsServicePrincipal = new azuread.ServicePrincipal(
      `${name}-azns-aad-webhook`,
      { clientId: AZNS_WEBHOOK_CLIENT_ID, useExisting: true },
      { parent: this, retainOnDelete: true },
    );

    this.webhookRoleAssignment = new azuread.AppRoleAssignment(
      `${name}-azns-webhook-role`,
      { appRoleId: APP_ROLE_IDS[WEBHOOK_ROLE], principalObjectId: this.aznsServicePrincipal.objectId, resourceObjectId: this.servicePrincipal.objectId },
      { parent: this, dependsOn: [identifierUri] },
    );

    this.registerOutputs({ applicationObjectId: this.applicationObjectId, clientId: this.clientId, appIdUri: this.appIdUri });
  }
}
