/**
 * GitHub Actions workflows as plain data for the checks in workflow-rules.ts and the replay in
 * test/support/workflow-replay.ts: every job with its effective settings, and steps with local
 * composite actions (`uses: ./…`) expanded in place, as the runner executes them.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  shell?: string;
  if?: string;
  with: Record<string, string>;
  env: Record<string, string>;
  /** The local composite action this step was expanded from (`./.github/actions/x`). */
  from?: string;
}

export interface Concurrency {
  group: string;
  cancelInProgress: boolean;
}

export type Permissions = Record<string, string> | "read-all" | "write-all";

export interface Job {
  id: string;
  workflow: Workflow;
  /** The job's `if:` condition. */
  if?: string;
  /** The jobs it `needs` (GitHub skips it when one of them was skipped, unless its `if` says otherwise). */
  needs: string[];
  /** The environment name (`environment: x` or `environment: { name: x }`). */
  environment?: string;
  /** The job's own permissions, else the workflow's. */
  permissions?: Permissions;
  /** The job's own concurrency, else the workflow's. */
  concurrency?: Concurrency;
  env: Record<string, string>;
  outputs: Record<string, string>;
  steps: Step[];
}

export interface Workflow {
  /** Path relative to the repository root (or as given). */
  file: string;
  /** Trigger name → its filter object (`{}` when none). */
  on: Record<string, Record<string, unknown>>;
  env: Record<string, string>;
  jobs: Job[];
}

type Raw = Record<string, unknown>;

function strings(value: unknown): Record<string, string> {
  if (value === null || typeof value !== "object") return {};
  return Object.fromEntries(Object.entries(value as Raw).map(([k, v]) => [k, String(v)]));
}

function triggers(on: unknown): Workflow["on"] {
  if (typeof on === "string") return { [on]: {} };
  if (Array.isArray(on)) return Object.fromEntries(on.map((t) => [String(t), {}]));
  if (on !== null && typeof on === "object") {
    return Object.fromEntries(Object.entries(on as Raw).map(([k, v]) => [k, (v ?? {}) as Record<string, unknown>]));
  }
  return {};
}

function concurrency(value: unknown): Concurrency | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return { group: value, cancelInProgress: false };
  const raw = value as Raw;
  return { group: String(raw.group), cancelInProgress: raw["cancel-in-progress"] === true || raw["cancel-in-progress"] === "true" };
}

function step(raw: Raw, from?: string): Step {
  return {
    ...(raw.id !== undefined ? { id: String(raw.id) } : {}),
    ...(raw.name !== undefined ? { name: String(raw.name) } : {}),
    ...(raw.uses !== undefined ? { uses: String(raw.uses) } : {}),
    ...(raw.run !== undefined ? { run: String(raw.run) } : {}),
    ...(raw.shell !== undefined ? { shell: String(raw.shell) } : {}),
    ...(raw.if !== undefined ? { if: String(raw.if) } : {}),
    with: strings(raw.with),
    env: strings(raw.env),
    ...(from ? { from } : {}),
  };
}

/** A local composite action's steps, or the step itself when it is anything else. */
function expand(raw: Raw, repoRoot: string): Step[] {
  const uses = raw.uses === undefined ? undefined : String(raw.uses);
  if (!uses?.startsWith("./")) return [step(raw)];
  const dir = join(repoRoot, uses);
  const file = ["action.yml", "action.yaml"].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new Error(`${uses}: no action.yml in ${dir}`);
  const action = parse(readFileSync(file, "utf8")) as { runs?: { using?: string; steps?: Raw[] } };
  if (action.runs?.using !== "composite") return [step(raw)];
  return (action.runs.steps ?? []).map((s) => step(s, uses));
}

export function parseWorkflow(file: string, text: string, repoRoot: string): Workflow {
  const raw = (parse(text) ?? {}) as Raw;
  const workflow: Workflow = { file, on: triggers(raw.on), env: strings(raw.env), jobs: [] };
  const workflowConcurrency = concurrency(raw.concurrency);
  for (const [id, value] of Object.entries((raw.jobs ?? {}) as Record<string, Raw>)) {
    const environment = value.environment;
    const environmentName = typeof environment === "string" ? environment : environment ? String((environment as Raw).name) : undefined;
    const permissions = (value.permissions ?? raw.permissions) as Permissions | undefined;
    const jobConcurrency = concurrency(value.concurrency) ?? workflowConcurrency;
    workflow.jobs.push({
      id,
      workflow,
      ...(value.if !== undefined ? { if: String(value.if) } : {}),
      needs: value.needs === undefined ? [] : Array.isArray(value.needs) ? value.needs.map(String) : [String(value.needs)],
      ...(environmentName ? { environment: environmentName } : {}),
      ...(permissions ? { permissions } : {}),
      ...(jobConcurrency ? { concurrency: jobConcurrency } : {}),
      env: strings(value.env),
      outputs: strings(value.outputs),
      steps: ((value.steps ?? []) as Raw[]).flatMap((s) => expand(s, repoRoot)),
    });
  }
  return workflow;
}

/** Every `*.yml`/`*.yaml` in `dir`; local actions resolve against `repoRoot`. */
export function loadWorkflows(dir: string, repoRoot: string): Workflow[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => parseWorkflow(join(dir, f), readFileSync(join(dir, f), "utf8"), repoRoot));
}

/** Whether a job of this workflow can run for a pull request (and so with a PR author's code). */
export function isPullRequestWorkflow(workflow: Workflow): boolean {
  return Object.keys(workflow.on).some((t) => t.startsWith("pull_request"));
}

/** The value of a job's env variable as the runner resolves it: step, then job, then workflow. */
export function envValue(job: Job, step: Step | undefined, name: string): string | undefined {
  return step?.env[name] ?? job.env[name] ?? job.workflow.env[name];
}
