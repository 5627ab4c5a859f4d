/**
 * The receiver's Container App: its image (a prebuilt one pulled with the receiver's identity, or
 * one built here into the stack's own registry), the wait for the pull permission to propagate,
 * probes, scale, and a revision for every change of a secret.
 */
import { createHmac } from "node:crypto";
import * as app from "@pulumi/azure-native/app/index.js";
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import * as containerregistry from "@pulumi/azure-native/containerregistry/index.js";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as time from "@pulumiverse/time";
import { RECEIVER_PORT } from "../receiver/src/contract.ts";
import { WORKLOAD_PROFILE } from "./app-environment.ts";
import { CONNECTION_STRING_SECRET, collectorContainer } from "./metrics-collector.ts";
import { migrationJob } from "./migration-job.ts";
import { EMBEDDED_DATA_DIR, METRICS_PORT, type ContainerSecret, type EnvVar } from "./receiver-environment.ts";

export const ACR_PULL_ROLE_ID = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
/**
 * Azure RBAC takes minutes to propagate; a revision that pulls before then retries until the
 * operation times out (~15 min) and `pulumi up` fails (microsoft/azure-container-apps#646).
 */
export const ROLE_PROPAGATION_WAIT = "120s";
/**
 * The receiver container's share of a replica. The embedded store (PGlite) peaks near 1.1 GB while
 * initdb runs on a fresh data directory, and holds ~600 MB under load; with PostgreSQL the process
 * stays well under 1 GiB. Together with the sidecar the sum must be a Consumption size (0.25 vCPU /
 * 0.5Gi steps, test/infra/container-resources.test.ts).
 */
export function receiverResources(embeddedStore: boolean): { cpu: number; memory: string } {
  return embeddedStore ? { cpu: 1, memory: "2Gi" } : { cpu: 0.5, memory: "1Gi" };
}

/** Not secret: the receiver never reads it; a new value makes a new revision (see below). */
export const SECRETS_VERSION_VARIABLE = "SECRETS_VERSION";

export interface ReceiverServiceArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  subscriptionId: pulumi.Input<string>;
  environmentId: pulumi.Input<string>;
  /** The Container App's name (explicit: its host name must be known before it exists). */
  containerAppName: string;
  /** Logical name of the registry created when the image is built here. */
  registryName: string;
  /** The user-assigned identity the app runs as (image pulls, database sign-in). */
  identity: { id: pulumi.Input<string>; principalId: pulumi.Input<string> };
  /** A prebuilt image reference; unset builds receiver/Dockerfile from `repositoryRoot` and pushes it to a registry of the stack. */
  image?: string;
  /** ARM id of the Azure Container Registry holding the prebuilt `image` (a pipeline's shared registry): the receiver identity gets AcrPull on it. Unset: the image is public. */
  imageRegistryId?: string;
  /** Repository root, the Docker build context. Default: the current directory (where Pulumi.yaml is). */
  repositoryRoot?: string;
  env: pulumi.Input<EnvVar<pulumi.Input<string>>>[];
  secrets: ContainerSecret<pulumi.Input<string>>[];
  minReplicas: number;
  maxReplicas: number;
  /** Mount an ephemeral volume at DATA_DIR for the embedded store (and size the container for it). */
  embeddedStore: boolean;
  /** Scrape the receiver's metrics into the Application Insights component of this connection string (a sidecar). */
  metrics?: { connectionString: pulumi.Input<string> };
  /** What must exist before the first revision starts (the network, the database and its administrator). */
  dependsOn: pulumi.Resource[];
  /**
   * PostgreSQL stacks: the migration job (migration-job.ts), run as the server's administrator
   * identity before each new image's revision; that identity gets AcrPull on the image's registry too.
   */
  migration?: {
    administrator: { id: pulumi.Input<string>; principalId: pulumi.Input<string>; clientId: pulumi.Input<string> };
    administratorConnectionString: pulumi.Input<string>;
    receiverRole: pulumi.Input<string>;
  };
}

/** HMAC of the secret values under a key kept (secret) in the state: changes with any secret, reveals none. */
export function secretsVersion(key: string, values: readonly string[]): string {
  return createHmac("sha256", key).update(JSON.stringify(values)).digest("hex").slice(0, 16);
}

export class ReceiverService extends pulumi.ComponentResource {
  readonly containerApp: app.ContainerApp;
  readonly imageRef: pulumi.Output<string>;
  /** Only when the image is built here. */
  readonly registry: containerregistry.Registry | undefined;

  constructor(name: string, args: ReceiverServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-export:index:ReceiverService", name, {}, opts);
    const parent = { parent: this };

    const grantPull = (assignment: string, scope: pulumi.Input<string>, principalId: pulumi.Input<string>) =>
      new authorization.RoleAssignment(
        assignment,
        {
          principalId,
          principalType: "ServicePrincipal",
          // The role definition is a tenant-wide built-in: the scope's own id keeps ARM from
          // rewriting it when the registry lives in another subscription (Azure/azure-rest-api-specs#10939).
          roleDefinitionId: pulumi.interpolate`${registrySubscription(scope, args.subscriptionId)}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL_ROLE_ID}`,
          scope,
        },
        parent,
      );

    const pullers: authorization.RoleAssignment[] = [];
    const registries: Array<{ server: pulumi.Input<string>; identity: pulumi.Input<string> }> = [];
    if (args.image) {
      this.registry = undefined;
      this.imageRef = pulumi.output(args.image);
      if (args.imageRegistryId) {
        pullers.push(grantPull(`${name}-image-registry-pull`, args.imageRegistryId, args.identity.principalId));
        if (args.migration) pullers.push(grantPull(`${name}-migrator-image-registry-pull`, args.imageRegistryId, args.migration.administrator.principalId));
        registries.push({ server: args.image.split("/")[0]!, identity: args.identity.id });
      }
    } else {
      // Building here pushes with the registry's admin credentials (listRegistryCredentials needs the
      // admin user; a person's `pulumi up` has no other way to push to a registry it just created).
      // Pipelines and preview stacks deploy a prebuilt image and create no registry at all.
      this.registry = new containerregistry.Registry(
        args.registryName,
        { resourceGroupName: args.resourceGroupName, location: args.location, sku: { name: "Basic" }, adminUserEnabled: true },
        parent,
      );
      pullers.push(grantPull(`${name}-acr-pull`, this.registry.id, args.identity.principalId));
      if (args.migration) pullers.push(grantPull(`${name}-migrator-acr-pull`, this.registry.id, args.migration.administrator.principalId));
      registries.push({ server: this.registry.loginServer, identity: args.identity.id });
      const credentials = containerregistry.listRegistryCredentialsOutput({ resourceGroupName: args.resourceGroupName, registryName: this.registry.name }, parent);
      const image = new dockerBuild.Image(
        name,
        {
          context: { location: args.repositoryRoot ?? "." },
          dockerfile: { location: `${args.repositoryRoot ?? "."}/receiver/Dockerfile` },
          platforms: ["linux/amd64"],
          push: true,
          // A preview must not build and push (docker-build builds during previews by default).
          buildOnPreview: false,
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

    const propagation = pullers.length
      ? [new time.Sleep(`${name}-pull-permission-propagation`, { createDuration: ROLE_PROPAGATION_WAIT, triggers: { assignments: pulumi.all(pullers.map((p) => p.id)).apply((ids) => ids.join(",")) } }, { parent: this, dependsOn: pullers })]
      : [];

    const migration = args.migration
      ? migrationJob(
          name,
          {
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            subscriptionId: args.subscriptionId,
            environmentId: args.environmentId,
            image: this.imageRef,
            ...(registries[0] ? { registry: registries[0].server } : {}),
            administrator: { id: args.migration.administrator.id, clientId: args.migration.administrator.clientId },
            administratorConnectionString: args.migration.administratorConnectionString,
            receiver: { name: args.migration.receiverRole, principalId: args.identity.principalId },
            dependsOn: [...args.dependsOn, ...pullers, ...propagation],
          },
          this,
        )
      : undefined;

    const secrets = [...args.secrets, ...(args.metrics ? [{ name: CONNECTION_STRING_SECRET, value: args.metrics.connectionString }] : [])];
    const versionKey = new random.RandomId(`${name}-secrets-version-key`, { byteLength: 32 }, parent);
    // Container Apps makes no new revision when only a secret changes, and running replicas keep
    // the old value (learn.microsoft.com/azure/container-apps/manage-secrets). A variable derived
    // from the secrets changes the template, which does make one.
    const version = pulumi.unsecret(
      pulumi.all([versionKey.hex, ...secrets.map((s) => s.value)]).apply(([key, ...values]) => secretsVersion(key as string, values as string[])),
    );

    const probe = (type: "Liveness" | "Readiness" | "Startup", path: string, periodSeconds: number, failureThreshold: number) => ({
      type,
      httpGet: { path, port: RECEIVER_PORT },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 5,
    });
    this.containerApp = new app.ContainerApp(
      name,
      {
        containerAppName: args.containerAppName,
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        environmentId: args.environmentId,
        workloadProfileName: WORKLOAD_PROFILE,
        identity: { type: "UserAssigned", userAssignedIdentities: [args.identity.id] },
        configuration: {
          activeRevisionsMode: "Single",
          ingress: { external: true, targetPort: RECEIVER_PORT, transport: "http", allowInsecure: false },
          registries,
          secrets: secrets.map((s) => ({ name: s.name, value: pulumi.secret(s.value) })),
        },
        template: {
          containers: [
            {
              name: "receiver",
              image: this.imageRef,
              env: [...args.env, { name: SECRETS_VERSION_VARIABLE, value: version }],
              resources: receiverResources(args.embeddedStore),
              // The receiver listens only after migrations and the first key fetch: the startup probe
              // gives it 10 x 15 s before liveness (which would restart it) applies.
              probes: [probe("Startup", "/healthz", 15, 10), probe("Liveness", "/healthz", 10, 3), probe("Readiness", "/readyz", 10, 3)],
              ...(args.embeddedStore ? { volumeMounts: [{ volumeName: "data", mountPath: EMBEDDED_DATA_DIR }] } : {}),
            },
            ...(args.metrics ? [collectorContainer(METRICS_PORT)] : []),
          ],
          scale: {
            minReplicas: args.minReplicas,
            maxReplicas: args.maxReplicas,
            rules: [{ name: "http", http: { metadata: { concurrentRequests: "50" } } }],
          },
          ...(args.embeddedStore ? { volumes: [{ name: "data", storageType: "EmptyDir" }] } : {}),
        },
      },
      // A fixed name cannot be created before the old app is deleted.
      { parent: this, dependsOn: [...args.dependsOn, ...pullers, ...propagation, ...(migration ? [migration.ran] : [])], deleteBeforeReplace: true },
    );
    this.registerOutputs({ imageRef: this.imageRef });
  }
}

/** `/subscriptions/{id}` of the registry's own subscription (ARM ids are case-insensitive). */
function registrySubscription(scope: pulumi.Input<string>, fallback: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.all([scope, fallback]).apply(([s, f]) => /^(\/subscriptions\/[^/]+)/i.exec(s)?.[1] ?? `/subscriptions/${f}`);
}
