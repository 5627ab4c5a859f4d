/**
 * What actionlint cannot see: whether each workflow would work on its first real run, and keep
 * preview stacks from harming deploys. Pure: workflows (workflow-model.ts) and the pipelines doc's text in,
 * problems out. Each rule names the failure it prevents.
 */
import { envValue, isPullRequestWorkflow, type Job, type Step, type Workflow } from "./workflow-model.ts";

export type RuleId =
  | "installs-before-running"
  | "shell-failures-fail"
  | "oidc-subject-federated"
  | "separate-identities"
  | "concurrency-isolated"
  | "config-in-git"
  | "upsert-guarded"
  | "teardown-tolerates-missing-stack"
  | "providers-registered"
  | "dispatch-on-default-branch";

export interface Problem {
  rule: RuleId;
  file: string;
  job?: string;
  message: string;
}

export interface CheckOptions {
  /** The repository's default branch: scheduled and manually dispatched runs use it. */
  defaultBranch: string;
}

const stepLabel = (step: Step, index: number) =>
  `step ${index + 1} (${step.id ?? step.name ?? step.uses ?? commandLines(step.run ?? "").find((l) => l !== "set -euo pipefail")?.slice(0, 50)})`;

function commandLines(script: string): string[] {
  return script
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** `node <file>`, `npm test|run|start|exec`, `npx`: repository code and its npm dependencies. */
function runsRepositoryCode(script: string): boolean {
  return commandLines(script).some(
    (l) => /(^|[\s;&|(])node\s+(?!-v\b|--version\b|-e\b|--eval\b|-p\b)\S/.test(l) || /(^|[\s;&|(])npm\s+(test|t|run|run-script|start|exec)\b/.test(l) || /(^|[\s;&|(])npx\s/.test(l),
  );
}

const installsDependencies = (script: string) => commandLines(script).some((l) => /(^|[\s;&|(])npm\s+(ci|install|i)\b/.test(l));

/** pulumi/actions with a command that runs the program (`destroy` and `refresh` do not). */
function runsProgram(step: Step): boolean {
  return Boolean(step.uses?.startsWith("pulumi/actions@") && ["up", "update", "preview"].includes(step.with.command ?? ""));
}

/** Node >= 22.18 strips TypeScript types itself; the runner image's default Node does not. */
function nodeRunsTypeScript(version: string | undefined): boolean {
  const match = /^(\d+)(?:\.(\d+))?/.exec(String(version ?? "").trim());
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2] ?? "99")];
  return major > 22 || (major === 22 && minor >= 18);
}

/**
 * A job that runs repository code must first check it out, set up a Node that runs TypeScript and
 * install the npm dependencies: `infra/pipeline/cli.ts` imports `yaml`, and without `npm ci` Node
 * exits with ERR_MODULE_NOT_FOUND.
 */
function installsBeforeRunning(job: Job, problems: Problem[]): void {
  let checkedOut = false;
  let node = false;
  let installed = false;
  job.steps.forEach((step, i) => {
    const where = `${stepLabel(step, i)}${step.from ? ` of ${step.from}` : ""}`;
    if (step.uses?.startsWith("actions/checkout@")) checkedOut = true;
    if (step.uses?.startsWith("actions/setup-node@")) {
      if (!nodeRunsTypeScript(step.with["node-version"])) {
        problems.push({ rule: "installs-before-running", file: job.workflow.file, job: job.id, message: `${where}: node-version "${step.with["node-version"] ?? ""}" cannot run the project's TypeScript (needs >= 22.18)` });
      } else node = true;
    }
    const missing = (what: string) => [!checkedOut && "actions/checkout", !node && "actions/setup-node with Node >= 22.18", !installed && "npm ci"].filter(Boolean).join(", ") + ` before ${what}`;
    if (step.run !== undefined && runsRepositoryCode(step.run) && !(checkedOut && node && installed)) {
      problems.push({ rule: "installs-before-running", file: job.workflow.file, job: job.id, message: `${where} runs repository code without ${missing("it")}` });
    }
    if (runsProgram(step) && !(checkedOut && node && installed)) {
      problems.push({ rule: "installs-before-running", file: job.workflow.file, job: job.id, message: `${where} runs the Pulumi program without ${missing("it")}` });
    }
    if (step.run !== undefined && installsDependencies(step.run)) {
      if (!checkedOut || !node) problems.push({ rule: "installs-before-running", file: job.workflow.file, job: job.id, message: `${where} installs dependencies before actions/checkout and actions/setup-node` });
      installed = true;
    }
  });
}

/**
 * Failures must fail the step. The default shell is `bash -e`: without pipefail a failing command
 * before `|` is ignored, and a failure inside `$(…)` used as an argument (`echo "x=$(cmd)"`) is
 * always swallowed — only a plain assignment `x=$(cmd)` under `set -e` stops the script.
 * `${{ }}` in a script is also refused: values go through `env:` (GitHub's security hardening
 * guide: an expression is pasted into the script before the shell runs).
 */
function shellFailuresFail(job: Job, problems: Problem[]): void {
  job.steps.forEach((step, i) => {
    if (step.run === undefined) return;
    const where = `${stepLabel(step, i)}${step.from ? ` of ${step.from}` : ""}`;
    const add = (message: string) => problems.push({ rule: "shell-failures-fail", file: job.workflow.file, job: job.id, message: `${where}: ${message}` });
    if (step.run.includes("${{")) add("uses a ${{ }} expression inside the script; pass it through env: instead");
    const lines = commandLines(step.run);
    for (const line of lines) {
      if (line.includes("`")) add(`backtick command substitution swallows failures: ${line}`);
      if (line.includes("$(") && !/^[A-Za-z_][A-Za-z0-9_]*=\$\(.*\)$/.test(line)) add(`a failure inside $(…) is swallowed here; assign it to a variable first (x=$(cmd)): ${line}`);
    }
    const compound = lines.length > 1 || lines.some((l) => /\$\(|(^|[^|])\|([^|]|$)/.test(l));
    if (compound && lines[0] !== "set -euo pipefail") add("a script with several commands, pipes or $(…) must start with `set -euo pipefail`");
  });
}

const hasIdToken = (job: Job) => job.permissions === "write-all" || (typeof job.permissions === "object" && job.permissions["id-token"] === "write");

/**
 * The OIDC subjects a job's token can carry, from GitHub's rules
 * (https://docs.github.com/en/actions/reference/security/oidc): a job with an environment gets
 * `environment:<name>`; otherwise a pull_request run gets `pull_request`, and a push, schedule or
 * manual run gets `ref:refs/heads/<branch>` (schedule and workflow_dispatch run on the default branch).
 */
function subjects(job: Job, options: CheckOptions): { subjects: string[]; unknown: string[] } {
  if (job.environment !== undefined) {
    return job.environment.includes("${{") ? { subjects: [], unknown: [`environment "${job.environment}" is an expression`] } : { subjects: [`environment:${job.environment}`], unknown: [] };
  }
  const result = { subjects: [] as string[], unknown: [] as string[] };
  for (const [trigger, filter] of Object.entries(job.workflow.on)) {
    if (trigger === "pull_request") result.subjects.push("pull_request");
    else if (trigger === "schedule" || trigger === "workflow_dispatch") result.subjects.push(`ref:refs/heads/${options.defaultBranch}`);
    else if (trigger === "push") {
      const branches = filter.branches;
      if (!Array.isArray(branches) || filter.tags !== undefined || branches.some((b) => /[*?[\]!]/.test(String(b)))) {
        result.unknown.push("push without a literal branches filter (the subject depends on the branch or tag pushed)");
      } else result.subjects.push(...branches.map((b) => `ref:refs/heads/${String(b)}`));
    } else result.unknown.push(`trigger ${trigger}`);
  }
  return result;
}

/** Subjects docs/deploy/pipelines.md tells users to federate (`repo:<owner>/<repo>:…`). */
export function readmeSubjects(readme: string): Set<string> {
  // The section is a page's title (docs/deploy/pipelines.md) or, in older trees, a README chapter.
  const heading = /^(#{1,2}) GitOps pipelines\b/m.exec(readme);
  if (!heading) return new Set();
  const rest = readme.slice(heading.index + heading[0].length);
  const end = rest.search(new RegExp(`^#{1,${heading[1]!.length}} `, "m"));
  const section = end < 0 ? rest : rest.slice(0, end);
  return new Set([...section.matchAll(/`repo:<owner>\/<repo>:([^`\s]+)`/g)].map((m) => m[1]!));
}

function oidcSubjectsFederated(workflows: Workflow[], readme: string, options: CheckOptions, problems: Problem[]): void {
  const listed = readmeSubjects(readme);
  const used = new Set<string>();
  for (const job of workflows.flatMap((w) => w.jobs).filter(hasIdToken)) {
    const { subjects: found, unknown } = subjects(job, options);
    for (const reason of unknown) {
      problems.push({ rule: "oidc-subject-federated", file: job.workflow.file, job: job.id, message: `id-token: write, but the OIDC subject cannot be known in advance (${reason}), so no federated credential can match it` });
    }
    for (const subject of new Set(found)) {
      used.add(subject);
      if (!listed.has(subject)) {
        problems.push({ rule: "oidc-subject-federated", file: job.workflow.file, job: job.id, message: `its OIDC subject repo:<owner>/<repo>:${subject} is not among the federated credentials docs/deploy/pipelines.md lists, so azure/login fails (AADSTS70021)` });
      }
    }
  }
  for (const subject of listed) {
    if (!used.has(subject)) problems.push({ rule: "oidc-subject-federated", file: "docs/deploy/pipelines.md", message: `docs/deploy/pipelines.md lists the subject repo:<owner>/<repo>:${subject}, which no id-token job uses` });
  }
}

const runsUp = (job: Job) => job.steps.some((s) => (s.uses?.startsWith("pulumi/actions@") && ["up", "update"].includes(s.with.command ?? "")) || /\bpulumi\s+up\b/.test(s.run ?? ""));

/** A deploy: a job outside pull-request workflows that updates a stack. */
const updatesStack = (job: Job) => !isPullRequestWorkflow(job.workflow) && runsUp(job);

/** A job holding a deploy identity: outside pull-request workflows, in an environment or updating a stack. */
const isDeploy = (job: Job) => !isPullRequestWorkflow(job.workflow) && (job.environment !== undefined || runsUp(job));

/** The `vars.X` / `secrets.X` names a client id expression reads, following `env.Y` references. */
function clientIdSources(job: Job): Set<string> {
  const sources = new Set<string>();
  const resolve = (expression: string | undefined, depth = 0): void => {
    if (!expression || depth > 3) return;
    for (const m of expression.matchAll(/\b(vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)/g)) sources.add(`${m[1]}.${m[2]}`);
    for (const m of expression.matchAll(/\benv\.([A-Za-z_][A-Za-z0-9_]*)/g)) resolve(envValue(job, undefined, m[1]!), depth + 1);
  };
  resolve(envValue(job, undefined, "ARM_CLIENT_ID"));
  for (const step of job.steps) if (step.uses?.startsWith("azure/login@")) resolve(step.with["client-id"]);
  return sources;
}

/**
 * Pull requests must not log in as a deploy identity: anyone who can open one can change the
 * workflow and the program, and run them as that identity. A pull-request job reading the same
 * variable as a deploy job gets the deploy identity (an environment variable of the same name only
 * shadows it inside that environment). Likewise a job outside any environment that reads a variable
 * the environment jobs read gets the repository-level value, which docs/deploy/pipelines.md says must not exist:
 * its login fails, or uses whatever identity someone put there.
 */
function separateIdentities(workflows: Workflow[], problems: Problem[]): void {
  const jobs = workflows.flatMap((w) => w.jobs).filter(hasIdToken);
  const deploySources = new Map<string, string>();
  for (const job of jobs.filter(isDeploy)) for (const s of clientIdSources(job)) deploySources.set(s, `${job.workflow.file}#${job.id}`);
  const environmentSources = new Map<string, string>();
  for (const job of jobs.filter((j) => j.environment !== undefined)) for (const s of clientIdSources(job)) environmentSources.set(s, `${job.workflow.file}#${job.id}`);
  for (const job of jobs) {
    const sources = clientIdSources(job);
    const pullRequest = isPullRequestWorkflow(job.workflow);
    if (pullRequest && sources.size === 0) problems.push({ rule: "separate-identities", file: job.workflow.file, job: job.id, message: "id-token: write, but no ARM_CLIENT_ID or azure/login client-id names the identity it logs in as" });
    for (const s of sources) {
      const deploy = deploySources.get(s);
      const scoped = environmentSources.get(s);
      if (pullRequest && deploy) {
        problems.push({ rule: "separate-identities", file: job.workflow.file, job: job.id, message: `a pull-request job logs in with ${s}, the identity deploy job ${deploy} uses: give pull requests their own identity` });
      } else if (job.environment === undefined && scoped) {
        problems.push({ rule: "separate-identities", file: job.workflow.file, job: job.id, message: `logs in with ${s} outside any environment, where it is not the value ${scoped} gets from its environment: give the job that environment or its own variable` });
      }
    }
  }
}

/** `pulumi-${{ x || 'dev' }}` → regex `^pulumi-(?:dev|.*)$` and samples `pulumi-dev`, `pulumi-\0`. */
function groupShape(template: string): { regex: RegExp; samples: string[] } {
  const parts = template.split(/(\$\{\{[\s\S]*?\}\})/);
  let samples = [""];
  let pattern = "";
  for (const part of parts) {
    if (part.startsWith("${{")) {
      const literals = [...part.matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]!.replace(/''/g, "'"));
      pattern += `(?:${[...literals.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), "[\\s\\S]*"].join("|")})`;
      samples = samples.flatMap((s) => [...literals, "\u0000"].map((v) => s + v));
    } else {
      pattern += part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      samples = samples.map((s) => s + part);
    }
  }
  return { regex: new RegExp(`^${pattern}$`), samples };
}

/** Whether two group templates can evaluate to the same group name. */
export function groupsMayCollide(a: string, b: string): boolean {
  const [x, y] = [groupShape(a), groupShape(b)];
  return x.samples.some((s) => y.regex.test(s)) || y.samples.some((s) => x.regex.test(s));
}

/**
 * A new job in a concurrency group cancels the group's pending job. A pull request sharing a group
 * with a deploy can therefore cancel a queued deploy (and everything that needs it). Deploys must
 * be in a group, so two never update one stack at once.
 */
function concurrencyIsolated(workflows: Workflow[], problems: Problem[]): void {
  const jobs = workflows.flatMap((w) => w.jobs);
  const deploys = jobs.filter(updatesStack);
  for (const job of deploys) {
    if (!job.concurrency) problems.push({ rule: "concurrency-isolated", file: job.workflow.file, job: job.id, message: "a deploy without a concurrency group: two runs can update the same stack at once" });
    else if (job.concurrency.cancelInProgress) problems.push({ rule: "concurrency-isolated", file: job.workflow.file, job: job.id, message: "a deploy with cancel-in-progress: a newer run interrupts a running pulumi up mid-way" });
  }
  for (const pr of jobs.filter((j) => isPullRequestWorkflow(j.workflow) && j.concurrency)) {
    for (const deploy of deploys.filter((d) => d.concurrency)) {
      if (groupsMayCollide(pr.concurrency!.group, deploy.concurrency!.group)) {
        problems.push({ rule: "concurrency-isolated", file: pr.workflow.file, job: pr.id, message: `concurrency group "${pr.concurrency!.group}" can equal deploy ${deploy.workflow.file}#${deploy.id}'s "${deploy.concurrency!.group}": a pull request can cancel that pending deploy` });
      }
    }
  }
}

/**
 * `pulumi config set` in a runner changes a Pulumi.<stack>.yaml that is thrown away with the
 * runner: the next run, a preview or a local `pulumi up` see other values. Configuration is
 * committed, or passed on each run with pulumi/actions' `config-map` input.
 */
function configInGit(job: Job, problems: Problem[]): void {
  job.steps.forEach((step, i) => {
    if (/\bpulumi\s+config\s+(set|set-all|rm|rm-all)\b/.test(step.run ?? "")) {
      problems.push({ rule: "config-in-git", file: job.workflow.file, job: job.id, message: `${stepLabel(step, i)} changes stack configuration only in the runner (pulumi config set); commit it to Pulumi.<stack>.yaml or pass it with pulumi/actions config-map` });
    }
  });
}

/**
 * `up` with `upsert: true` creates the stack when it is missing, so a job that starts after its
 * pull request closed would recreate a torn-down preview environment that nothing removes. It must
 * run only when a `preview-reconcile` step of the same job, run inside the job's concurrency group,
 * found the pull request open.
 */
function upsertGuarded(job: Job, problems: Problem[]): void {
  job.steps.forEach((step, i) => {
    if (!(step.uses?.startsWith("pulumi/actions@") && ["up", "update"].includes(step.with.command ?? "") && step.with.upsert === "true")) return;
    const guards = job.steps.slice(0, i).filter((s) => s.id && /\bcli\.ts\s+preview-reconcile\b/.test(s.run ?? ""));
    const guarded = guards.some((g) => new RegExp(`steps\\.${g.id}\\.outputs\\.action\\s*==\\s*'up'`).test(step.if ?? ""));
    if (!guarded) {
      problems.push({ rule: "upsert-guarded", file: job.workflow.file, job: job.id, message: `${stepLabel(step, i)} runs up with upsert without an open-PR check: give it if: steps.<id>.outputs.action == 'up' from an earlier \`node infra/pipeline/cli.ts preview-reconcile\` step` });
    }
    if (!job.concurrency) problems.push({ rule: "upsert-guarded", file: job.workflow.file, job: job.id, message: "up with upsert outside a concurrency group: its open-PR check can race the teardown" });
  });
}

/**
 * pulumi/actions selects the stack without creating it unless `upsert` is set, so its `destroy`
 * fails when the stack never existed (a PR closed before its first bring-up). Teardown goes through
 * `preview-reconcile`, which treats a missing stack as done.
 */
function teardownToleratesMissingStack(job: Job, problems: Problem[]): void {
  if (!isPullRequestWorkflow(job.workflow) && !("schedule" in job.workflow.on)) return;
  job.steps.forEach((step, i) => {
    if (step.uses?.startsWith("pulumi/actions@") && step.with.command === "destroy") {
      problems.push({ rule: "teardown-tolerates-missing-stack", file: job.workflow.file, job: job.id, message: `${stepLabel(step, i)}: pulumi/actions destroy fails when the preview stack never existed; use node infra/pipeline/cli.ts preview-reconcile` });
    }
  });
}

/**
 * azure-native registers no resource provider, so the first `up` in a fresh subscription fails with
 * MissingSubscriptionRegistration (pulumi/pulumi-azure-native#3479). A job that updates a stack must
 * first register the namespaces the program uses (`node infra/pipeline/cli.ts resource-providers`,
 * each passed to `az provider register`).
 */
function providersRegistered(job: Job, problems: Problem[]): void {
  let registered = false;
  job.steps.forEach((step, i) => {
    const script = step.run ?? "";
    if (/\bcli\.ts\s+resource-providers\b/.test(script) && /\baz\s+provider\s+register\b/.test(script)) registered = true;
    const up = (step.uses?.startsWith("pulumi/actions@") && ["up", "update"].includes(step.with.command ?? "")) || /\bpulumi\s+up\b/.test(script);
    if (up && !registered) {
      problems.push({ rule: "providers-registered", file: job.workflow.file, job: job.id, message: `${stepLabel(step, i)} runs up without first registering the program's resource providers (az provider register for each of node infra/pipeline/cli.ts resource-providers): a new subscription fails with MissingSubscriptionRegistration` });
    }
  });
}

/**
 * A manually dispatched run gets the subject `ref:refs/heads/<branch it was dispatched on>`
 * (GitHub OIDC reference); only the default branch's is federated, so from any other branch the
 * login fails with AADSTS70021 half-way through. An id-token job of a workflow_dispatch workflow
 * must therefore run only on the default branch (`if: github.ref == 'refs/heads/<default>'`), or
 * need a job that does (GitHub skips a job whose needed job was skipped).
 */
function dispatchOnDefaultBranch(workflows: Workflow[], options: CheckOptions, problems: Problem[]): void {
  for (const workflow of workflows.filter((w) => "workflow_dispatch" in w.on)) {
    const guarded = new Set<string>();
    const guard = new RegExp(`github\\.ref\\s*==\\s*'refs/heads/${options.defaultBranch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}'`);
    // Jobs in order: a job is guarded by its own if, or by needing a guarded job (without always()).
    for (const job of workflow.jobs) {
      if (guard.test(job.if ?? "") || (job.needs.some((n) => guarded.has(n)) && !/\balways\(\)/.test(job.if ?? ""))) guarded.add(job.id);
      if (hasIdToken(job) && !guarded.has(job.id)) {
        problems.push({ rule: "dispatch-on-default-branch", file: workflow.file, job: job.id, message: `id-token: write in a workflow_dispatch workflow without if: github.ref == 'refs/heads/${options.defaultBranch}': dispatched from another branch, its subject is not federated and azure/login fails (AADSTS70021)` });
      }
    }
  }
}

export function checkWorkflows(workflows: Workflow[], readme: string, options: CheckOptions): Problem[] {
  const problems: Problem[] = [];
  for (const job of workflows.flatMap((w) => w.jobs)) {
    installsBeforeRunning(job, problems);
    shellFailuresFail(job, problems);
    configInGit(job, problems);
    upsertGuarded(job, problems);
    teardownToleratesMissingStack(job, problems);
    providersRegistered(job, problems);
  }
  dispatchOnDefaultBranch(workflows, options, problems);
  oidcSubjectsFederated(workflows, readme, options, problems);
  separateIdentities(workflows, problems);
  concurrencyIsolated(workflows, problems);
  return problems;
}
