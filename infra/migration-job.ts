/**
 * What runs with administrator rights on the database, declared in the stack: a Container Apps job
 * in the stack's environment (so inside its private network, the only place the server is
 * reachable), running the receiver's image as the server's Microsoft Entra administrator identity.
 * It applies the migrations and grants the receiver's own identity data rights only
 * (receiver/src/migrate-job.ts); the receiver signs in as that least-privilege role.
 *
 * When it runs: once for each image (and each receiver identity) the stack deploys, before that
 * image's receiver revision starts. A manually triggered job runs only when started (Microsoft
 * Learn, "Jobs in Azure Container Apps": trigger types Manual, Schedule, Event), and no azure-native
 * resource starts one, so `pulumi up` starts it with the Azure CLI (`az containerapp job start`,
 * then `az containerapp job execution show` until it ends) from a command resource whose triggers
 * are the image and the receiver's role: a re-run only when one of them changes. A schedule would
 * run admin code again and again; an init container of the receiver would give the receiver the
 * administrator identity. The Container App waits for the command, so a new schema precedes the
 * code that needs it; migrations stay additive, since the old revision runs until the new is ready.
 */
import * as app from "@pulumi/azure-native/app/index.js";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { WORKLOAD_PROFILE } from "./app-environment.ts";

/** Unique within the stack's resource group (the only job there); fits the 32-character rule for any stack. */
export const MIGRATION_JOB_NAME = "secure-export-migrate";
/** The job's entry in the receiver image (receiver/Dockerfile copies receiver/src). */
export const MIGRATION_COMMAND = ["node", "receiver/src/migrate-job.ts"];
/** Seconds one execution may take: migrations of a ledger, well within ACA's limits. */
export const MIGRATION_TIMEOUT_SECONDS = 900;

/**
 * Starts the job and waits for its execution to end: exit 0 only when it succeeded. POSIX sh (the
 * command provider's default interpreter is /bin/sh -c). Statuses: Running, Processing, Stopped,
 * Degraded, Failed, Unknown, Succeeded (Microsoft.App jobs executions, JobExecutionRunningState).
 */
export const START_AND_WAIT = [
  "set -eu",
  'execution=$(az containerapp job start --subscription "$SUBSCRIPTION" --resource-group "$GROUP" --name "$JOB" --query name --output tsv)',
  'echo "migration job $JOB: execution $execution started" >&2',
  "tries=0",
  "while :; do",
  '  status=$(az containerapp job execution show --subscription "$SUBSCRIPTION" --resource-group "$GROUP" --name "$JOB" --job-execution-name "$execution" --query properties.status --output tsv)',
  '  case "$status" in',
  '    Succeeded) echo "migration job $JOB: $execution succeeded" >&2; exit 0 ;;',
  '    Failed|Stopped|Degraded) echo "migration job $JOB: $execution ended $status; its log: az containerapp job logs show --resource-group $GROUP --name $JOB --execution $execution --container migrate" >&2; exit 1 ;;',
  "  esac",
  "  tries=$((tries + 1))",
  `  if [ "$tries" -gt ${Math.ceil(MIGRATION_TIMEOUT_SECONDS / 10) + 30} ]; then echo "migration job $JOB: $execution still $status; giving up" >&2; exit 1; fi`,
  "  sleep 10",
  "done",
].join("\n");

export interface MigrationJobArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  subscriptionId: pulumi.Input<string>;
  environmentId: pulumi.Input<string>;
  image: pulumi.Input<string>;
  /** The registry to pull `image` from with the administrator identity (it has AcrPull there); none for a public image. */
  registry?: pulumi.Input<string>;
  /** The server's Entra administrator: the job runs as it. */
  administrator: { id: pulumi.Input<string>; clientId: pulumi.Input<string> };
  /** postgres://{administrator}@{server}/{database}?sslmode=verify-full */
  administratorConnectionString: pulumi.Input<string>;
  /** The receiver's identity: its role gets data rights only. */
  receiver: { name: pulumi.Input<string>; principalId: pulumi.Input<string> };
  /** The database and its administrator, and the administrator's pull permission (propagated). */
  dependsOn: pulumi.Resource[];
}

/** The job and the command that runs it; the receiver's Container App waits for `ran`. */
export function migrationJob(name: string, args: MigrationJobArgs, parent: pulumi.Resource): { job: app.Job; ran: command.local.Command } {
  const job = new app.Job(
    `${name}-migrate`,
    {
      jobName: MIGRATION_JOB_NAME,
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      environmentId: args.environmentId,
      workloadProfileName: WORKLOAD_PROFILE,
      identity: { type: "UserAssigned", userAssignedIdentities: [args.administrator.id] },
      configuration: {
        triggerType: "Manual",
        replicaTimeout: MIGRATION_TIMEOUT_SECONDS,
        replicaRetryLimit: 0,
        manualTriggerConfig: { parallelism: 1, replicaCompletionCount: 1 },
        registries: args.registry ? [{ server: args.registry, identity: args.administrator.id }] : [],
      },
      template: {
        containers: [
          {
            name: "migrate",
            image: args.image,
            command: MIGRATION_COMMAND,
            env: [
              { name: "DATABASE_URL", value: args.administratorConnectionString },
              { name: "DATABASE_AUTH", value: "azure-managed-identity" },
              { name: "AZURE_CLIENT_ID", value: args.administrator.clientId },
              { name: "RECEIVER_DATABASE_ROLE", value: args.receiver.name },
              { name: "RECEIVER_DATABASE_OBJECT_ID", value: args.receiver.principalId },
            ],
            resources: { cpu: 0.25, memory: "0.5Gi" },
          },
        ],
      },
    },
    // A fixed name cannot be created before the old job is deleted.
    { parent, dependsOn: args.dependsOn, deleteBeforeReplace: true },
  );
  const ran = new command.local.Command(
    `${name}-migrate-run`,
    {
      create: START_AND_WAIT,
      environment: { SUBSCRIPTION: args.subscriptionId, GROUP: args.resourceGroupName, JOB: job.name },
      triggers: [args.image, args.receiver.name, args.receiver.principalId, job.id],
    },
    { parent, dependsOn: [job] },
  );
  return { job, ran };
}
