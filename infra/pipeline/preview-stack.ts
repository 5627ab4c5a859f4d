/**
 * Preview stacks for pull requests: their name, and their configuration seeded from a template
 * stack's file (e.g. Pulumi.dev.yaml) with the settings a preview must have. Pure.
 */
import { parse, stringify } from "yaml";
import { PipelineError } from "./errors.ts";
import { checkImageByDigest, checkRegistryId } from "./image-reference.ts";

export function previewStackName(pullRequest: number | string): string {
  const n = Number(pullRequest);
  if (!Number.isInteger(n) || n <= 0) {
    throw new PipelineError("BAD_ARGUMENT", `pull request number must be a positive integer, got "${pullRequest}"`);
  }
  return `pr-${n}`;
}

/**
 * The shared preview application's stack, fully qualified (`org/project/stack`, e.g.
 * `organization/secure-export/preview-identity` on a self-managed backend): a StackReference needs
 * the organization, and a short name would silently resolve against whatever org is current.
 */
export function checkIdentityStack(name: string): string {
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(name)) {
    throw new PipelineError("BAD_ARGUMENT", `identity stack must be a fully qualified stack name org/project/stack, got "${name}"`);
  }
  return name;
}

/** What a preview stack runs and under which application (see seedPreviewConfig). */
export interface PreviewSource {
  /** The shared preview application's stack, fully qualified (checkIdentityStack). */
  identityStack: string;
  /** The pull request's image, by digest, built by the workflow (a preview stack never builds). */
  image: string;
  /** ARM id of the registry holding `image`; the preview's receiver identity gets AcrPull there. */
  imageRegistryId: string;
}

/** Settings a preview stack always gets, whatever the template says: cheap, disposable, unprotected. */
function previewOverrides(pullRequest: number, source: PreviewSource): Record<string, string | number | boolean> {
  return {
    // The Entra application comes from the shared preview-identity stack: a pull request creates no
    // Entra objects, so its identity needs no Graph write permission.
    "secure-export:identityStack": source.identityStack,
    "secure-export:image": source.image,
    "secure-export:imageRegistryId": source.imageRegistryId,
    "secure-export:databaseMode": "embedded",
    "secure-export:minReplicas": 1,
    "secure-export:maxReplicas": 1,
    "secure-export:protect": false,
    "secure-export:exampleAlertRules": false,
    // Azure limits the short name to 12 characters; pr + up to 10 digits fits.
    "secure-export:actionGroupShortName": `pr${pullRequest}`,
  };
}

/** The template's own image and Entra settings (identityOnly, role holders, owners) are not a preview's. */
const NEVER_COPIED = new Set([
  "secure-export:image",
  "secure-export:imageRegistryId",
  "secure-export:namePrefix",
  "secure-export:identityOnly",
  "secure-export:readers",
  "secure-export:operators",
  "secure-export:owners",
]);

export interface SeededConfig {
  /** The new stack file's text. */
  yaml: string;
  /** Secret keys of the template that could not be copied (encrypted for the template stack only). */
  droppedSecrets: string[];
}

export function seedPreviewConfig(templateYaml: string, pullRequest: number | string, source: PreviewSource): SeededConfig {
  const n = Number(previewStackName(pullRequest).slice(3));
  checkIdentityStack(source.identityStack);
  checkImageByDigest(source.image);
  checkRegistryId(source.imageRegistryId);
  const template = (parse(templateYaml) ?? {}) as { config?: Record<string, unknown> };
  const config: Record<string, unknown> = {};
  const droppedSecrets: string[] = [];
  for (const [key, value] of Object.entries(template.config ?? {})) {
    if (value !== null && typeof value === "object" && "secure" in (value as object)) {
      droppedSecrets.push(key);
      continue;
    }
    if (!NEVER_COPIED.has(key)) config[key] = value;
  }
  Object.assign(config, previewOverrides(n, source));
  const yaml = `# Seeded for pull request #${n} from a template stack; removed with the stack when the PR closes.\n${stringify({ config })}`;
  return { yaml, droppedSecrets: droppedSecrets.sort() };
}
