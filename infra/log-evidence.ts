/**
 * Log evidence in Azure (docs/incidents.md#log-evidence, docs/deploy/pulumi.md#log-evidence): the
 * receiver's identity may query the Log Analytics workspaces in stack config `evidenceWorkspaces`,
 * nothing more.
 *
 * The role is the built-in "Log Analytics Data Reader" (3b03c2da-16b3-4a49-8834-0f8130efdd3b:
 * actions Microsoft.OperationalInsights/workspaces/query/read and …/workspaces/read, data action
 * …/workspaces/tables/data/read — "can query and search the logs it is allowed to view", learn.microsoft.com/
 * azure/role-based-access-control/built-in-roles/monitor). "Log Analytics Reader"
 * (73c42c96-874c-492b-b04d-ab87d138a893) would work too, but it also reads every resource of every type.
 */
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import * as pulumi from "@pulumi/pulumi";
import { StackConfigError } from "./stack-config-error.ts";

export const LOG_ANALYTICS_DATA_READER_ROLE_ID = "3b03c2da-16b3-4a49-8834-0f8130efdd3b";

/** A workspace's ARM id; the name as Azure allows it (4-63 letters, digits and hyphens, no hyphen at either end). */
const WORKSPACE_ID = /^\/subscriptions\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/resourceGroups\/[-\w._()]{1,90}\/providers\/Microsoft\.OperationalInsights\/workspaces\/[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$/i;

/** `evidenceWorkspaces`: a JSON list (or comma-separated) of workspace resource ids, each once. */
export function parseEvidenceWorkspaces(raw: Readonly<Record<string, string | undefined>>): string[] {
  const value = raw.evidenceWorkspaces?.trim();
  if (!value) return [];
  let items: unknown;
  try {
    items = value.startsWith("[") ? JSON.parse(value) : value.split(",").map((item) => item.trim()).filter(Boolean);
  } catch {
    throw new StackConfigError("evidenceWorkspaces", `must be a JSON list, got ${value}`);
  }
  if (!Array.isArray(items) || items.some((item) => typeof item !== "string")) throw new StackConfigError("evidenceWorkspaces", `must be a list of strings, got ${value}`);
  const wrong = (items as string[]).find((id) => !WORKSPACE_ID.test(id));
  if (wrong) {
    throw new StackConfigError("evidenceWorkspaces", `must list Log Analytics workspace resource ids (/subscriptions/<id>/resourceGroups/<name>/providers/Microsoft.OperationalInsights/workspaces/<name>); "${wrong}" is not one`);
  }
  // ARM ids are case-insensitive: the same workspace twice would be two assignments of one role, which ARM refuses.
  const seen = new Map((items as string[]).map((id) => [id.toLowerCase(), id] as const));
  return [...seen.values()];
}

export interface LogEvidenceAccessArgs {
  /** The receiver's user-assigned identity. */
  principalId: pulumi.Input<string>;
  workspaces: readonly string[];
}

export class LogEvidenceAccess extends pulumi.ComponentResource {
  readonly assignments: authorization.RoleAssignment[];

  constructor(name: string, args: LogEvidenceAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-export:index:LogEvidenceAccess", name, {}, opts);
    this.assignments = args.workspaces.map((scope, index) => {
      // The built-in role's id under the workspace's own subscription: ARM rewrites it otherwise (see receiver-service.ts).
      const subscription = WORKSPACE_ID.exec(scope)![1];
      return new authorization.RoleAssignment(
        `${name}-log-evidence-${index}`,
        // Property names as in node_modules/@pulumi/azure-native/authorization/roleAssignment.d.ts (RoleAssignmentArgs).
        { principalId: args.principalId, principalType: "ServicePrincipal", roleDefinitionId: `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/${LOG_ANALYTICS_DATA_READER_ROLE_ID}`, scope },
        { parent: this },
      );
    });
    this.registerOutputs({});
  }
}
