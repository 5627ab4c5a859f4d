/**
 * The receiver running in Azure: Log Analytics, a Container Apps environment, a registry with the
 * receiver image, a user-assigned identity that pulls it, and the Container App itself.
 */
import * as app from "@pulumi/azure-native/app/index.js";
import * as containerregistry from "@pulumi/azure-native/containerregistry/index.js";
import * as managedidentity from "@pulumi/azure-native/managedidentity/index.js";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights/index.js";
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { EMBEDDED_DATA_DIR, RECEIVER_PORT, type ContainerSecret, type EnvVar } from "./receiver-environment.ts";

export const ACR_PULL_ROLE_ID = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

export interface ReceiverServiceArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  subscriptionId: pulumi.Input<string>;
  /** A prebuilt image reference; unset builds receiver/Dockerfile from `repositoryRoot` and pushes it to the stack's registry. */
  image?: string;
  /** ARM id of the Azure Container Registry holding the prebuilt `image` (a pipeline's shared registry): the receiver identity gets AcrPull on it. Unset: the image is public. */
  imageRegistryId?: string;
  /** Repository root, the Docker build context. Default: the current directory (where Pulumi.yaml is). */
  repositoryRoot?: string;
  env: pulumi.Input<EnvVar<pulumi.Input<string>>>[];
  secrets: ContainerSecret<pulumi.Input<string>>[];
  /** At least 1: an alert must not wait on a cold start. Default 1. */
  minReplicas?: number;
  /** Default 3. */
  maxReplicas?: number;
  /** Mount an ephemeral volume at DATA_DIR for the embedded store. Default false. */
  embeddedStore?: boolean;
}

export class ReceiverService extends pulumi.ComponentResource {
  readonly containerApp: app.ContainerApp;
  readonly fqdn: pulumi.Output<string>;
  readonly webhookUrl: pulumi.Output<string>;
  readonly imageRef: pulumi.Output<string>;
  readonly registry: containerregistry.Registry;
  readonly identity: managedidentity.UserAssignedIdentity;
  readonly workspace: operationalinsights.Workspace;

  constructor(name: string, args: ReceiverServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-export:index:ReceiverService", name, {}, opts);
    const parent = { parent: this };

    this.workspace = new operationalinsights.Workspace(
      name,
      { resourceGroupName: args.resourceGroupName, location: args.location, sku: { name: "PerGB2018" }, retentionInDays: 30 },
      parent,
    );
    const keys = operationalinsights.getSharedKeysOutput({ resourceGroupName: args.resourceGroupName, workspaceName: this.workspace.name }, parent);
    const environment = new app.ManagedEnvironment(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        appLogsConfiguration: {
          destination: "log-analytics",
          logAnalyticsConfiguration: { customerId: this.workspace.customerId, sharedKey: keys.apply((k) => k.primarySharedKey ?? "") },
        },
      },
      parent,
    );

    // Pushing from `pulumi up` needs registry credentials; pulling by the app never does (AcrPull).
    const buildHere = !args.image;
    // Registry names are global and alphanumeric: Pulumi's auto-naming adds a random suffix to this one.
    this.registry = new containerregistry.Registry(
      `${name.replace(/[^a-z0-9]/gi, "")}acr`,
      { resourceGroupName: args.resourceGroupName, location: args.location, sku: { name: "Basic" }, adminUserEnabled: buildHere },
      parent,
    );
    this.identity = new managedidentity.UserAssignedIdentity(name, { resourceGroupName: args.resourceGroupName, location: args.location }, parent);
    const grantPull = (assignment: string, scope: pulumi.Input<string>) =>
      new authorization.RoleAssignment(
        assignment,
        {
          principalId: this.identity.principalId,
          principalType: "ServicePrincipal",
          roleDefinitionId: pulumi.interpolate`/subscriptions/${args.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL_ROLE_ID}`,
          scope,
        },
        parent,
      );
    const acrPull = grantPull(`${name}-acr-pull`, this.registry.id);

    const pullers: pulumi.Resource[] = [acrPull];
    const registries: Array<{ server: pulumi.Input<string>; identity: pulumi.Input<string> }> = [{ server: this.registry.loginServer, identity: this.identity.id }];
    if (args.image) {
      this.imageRef = pulumi.output(args.image);
      if (args.imageRegistryId) {
        pullers.push(grantPull(`${name}-image-registry-pull`, args.imageRegistryId));
        registries.push({ server: args.image.split("/")[0]!, identity: this.identity.id });
      }
    } else {
      const credentials = containerregistry.listRegistryCredentialsOutput({ resourceGroupName: args.resourceGroupName, registryName: this.registry.name }, parent);
      const image = new dockerBuild.Image(
        name,
        {
          context: { location: args.repositoryRoot ?? "." },
          dockerfile: { location: `${args.repositoryRoot ?? "."}/receiver/Dockerfile` },
          platforms: ["linux/amd64"],
          push: true,
          tags: [pulumi.interpolate`${this.registry.loginServer}/secure-export-receiver:latest`],
          registries: [
            {
              address: this.registry.loginServer,
              username: credentials.apply((c) => c.username ?? ""),
              password: pulumi.secret(credentials.apply((c) => c.passwords?.[0]?.value ?? "")),
            },
          ],
        },
        parent,
      );
      this.imageRef = image.ref;
    }

    const probe = (type: "Liveness" | "Readiness", path: string) => ({ type, httpGet: { path, port: RECEIVER_PORT }, periodSeconds: 10, failureThreshold: 3 });
    this.containerApp = new app.ContainerApp(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        managedEnvironmentId: environment.id,
        identity: { type: "UserAssigned", userAssignedIdentities: [this.identity.id] },
        configuration: {
          activeRevisionsMode: "Single",
          ingress: { external: true, targetPort: RECEIVER_PORT, transport: "http", allowInsecure: false },
          registries,
          secrets: args.secrets.map((s) => ({ name: s.name, value: s.value })),
        },
        template: {
          containers: [
            {
              name: "receiver",
              image: this.imageRef,
              env: args.env,
              resources: { cpu: 0.5, memory: "1Gi" },
              probes: [probe("Liveness", "/healthz"), probe("Readiness", "/readyz")],
              ...(args.embeddedStore ? { volumeMounts: [{ volumeName: "data", mountPath: EMBEDDED_DATA_DIR }] } : {}),
            },
          ],
          scale: {
            minReplicas: args.minReplicas ?? 1,
            maxReplicas: args.maxReplicas ?? 3,
            rules: [{ name: "http", http: { metadata: { concurrentRequests: "50" } } }],
          },
          ...(args.embeddedStore ? { volumes: [{ name: "data", storageType: "EmptyDir" }] } : {}),
        },
      },
      { parent: this, dependsOn: pullers },
    );
    // `configuration` is secret as a whole (it holds the app's secrets); its host name is not.
    this.fqdn = pulumi.unsecret(this.containerApp.configuration.apply((c) => c?.ingress?.fqdn ?? ""));
    this.webhookUrl = pulumi.interpolate`https://${this.fqdn}/api/alerts`;
    this.registerOutputs({ fqdn: this.fqdn, webhookUrl: this.webhookUrl, imageRef: this.imageRef });
  }
}
