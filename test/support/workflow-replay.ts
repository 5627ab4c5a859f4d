/**
 * Replays GitHub Actions jobs here, the way a runner would run them, in a clean checkout of the
 * repository (its files as git would check them out: no node_modules, no ignored files).
 *
 * - `run:` scripts execute for real with bash exactly as GitHub invokes it (`bash -e {0}` without a
 *   `shell:`, `bash --noprofile --norc -eo pipefail {0}` with `shell: bash`:
 *   https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepsshell),
 *   with ${{ }} expressions evaluated by GitHub's own evaluator (@actions/expressions), and
 *   $GITHUB_OUTPUT / $GITHUB_ENV read back between steps.
 * - The outside world is replaced by stand-ins that keep its contract and record every call:
 *   `npm ci` links the repository's installed node_modules (the state `npm ci` leaves from the same
 *   lockfile; the network is off-limits here) and is the only way node_modules appears; `pulumi`
 *   and `az` are fakes over a shared state file; the GitHub REST API is a loopback server; `git`
 *   is real, against a bare "origin" repository.
 * - Marketplace actions are stood in for by what they do to the job: checkout/setup-node/login are
 *   no-ops (the checkout exists, this Node is 24), build-push outputs a digest, and pulumi/actions
 *   follows its source (src/main.ts): `selectStack` unless `upsert`, `config-map` applied, the
 *   stack's outputs as step outputs. An action without a stand-in fails the replay.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Evaluator, Lexer, Parser, data } from "@actions/expressions";
import { truthy } from "@actions/expressions/result";
import { parse } from "yaml";
import type { Job, Step } from "../../.ci/workflow-model.ts";
import { REPO_ROOT } from "./paths.ts";

export const REPOSITORY = "contoso/secure-export";

/** What GitHub and the Pulumi backend hold, shared by every job of one replay. */
export interface World {
  dir: string;
  /** A bare repository standing in for github.com; each job clones it, like a fresh runner. */
  origin: string;
  /** The commit under test (`GITHUB_SHA`). */
  sha: string;
  pullRequests: Map<number, "open" | "closed">;
  apiUrl: string;
  /** Pulumi stacks in the backend. */
  stacks(): string[];
  setStacks(names: string[]): void;
  setDeployed(stack: string, image: string): void;
  /** Every call of the fake CLIs, in order, as argument lists (`pulumi destroy …`). */
  calls(): string[][];
  /** Resource provider namespaces `az provider register` registered. */
  registered(): string[];
  /** The image each stack runs: what the stack file named when pulumi/actions last ran `up` on it. */
  deployed(): Record<string, string>;
  /**
   * A merge to main: a new commit on origin's main with these files changed (on top of whatever
   * main holds now, records included); returns its sha, for a run of it (`JobContext.sha`).
   */
  merge(files: Record<string, string>, message: string): string;
  close(): Promise<void>;
}

function listCheckoutFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT, encoding: "utf8" });
  return [...new Set(out.split("\0").filter((f) => f && existsSync(join(REPO_ROOT, f))))];
}

const FAKE_PULUMI = `
const fs = require("node:fs");
const state = process.env.REPLAY_STATE;
const read = () => JSON.parse(fs.readFileSync(state, "utf8"));
const write = (s) => fs.writeFileSync(state, JSON.stringify(s));
const args = process.argv.slice(2);
const s = read(); s.calls.push(["pulumi", ...args]); write(s);
const has = (flag) => args.includes(flag);
if (args[0] === "stack" && args[1] === "ls" && has("--json")) {
  process.stdout.write(JSON.stringify(read().stacks.map((name) => ({ name, current: false }))));
} else if (args[0] === "destroy" && has("--yes") && has("--remove") && has("--stack")) {
  const name = args[args.indexOf("--stack") + 1];
  const now = read();
  if (!now.stacks.includes(name)) { console.error("error: no stack named '" + name + "' found"); process.exit(255); }
  now.stacks = now.stacks.filter((n) => n !== name); write(now);
  console.log("The resources in the stack have been deleted, and the stack has been removed.");
} else { console.error("fake pulumi: unsupported " + args.join(" ")); process.exit(3); }
`;

const FAKE_AZ = `
const fs = require("node:fs");
const state = process.env.REPLAY_STATE;
const s = JSON.parse(fs.readFileSync(state, "utf8")); const args = process.argv.slice(2);
s.calls.push(["az", ...args]); fs.writeFileSync(state, JSON.stringify(s));
if (args[0] === "acr" && args[1] === "login") process.exit(0);
// az provider register --namespace <Namespace> [--wait]: ARM takes a namespace like Microsoft.App.
if (args[0] === "provider" && args[1] === "register") {
  const ns = args[args.indexOf("--namespace") + 1] || "";
  if (!/^[A-Za-z]+\.[A-Za-z]+$/.test(ns)) { console.error("(InvalidResourceNamespace) The resource namespace '" + ns + "' is invalid."); process.exit(1); }
  s.registered = [...new Set([...(s.registered || []), ns])]; fs.writeFileSync(state, JSON.stringify(s)); process.exit(0);
}
if (args[0] === "storage" && args[1] === "container" && args[2] === "generate-sas") { console.log("se=2026-01-01&sig=fake"); process.exit(0); }
console.error("fake az: unsupported " + args.join(" ")); process.exit(3);
`;

// npm ci: what it leaves behind from package-lock.json is the repository's own node_modules.
const FAKE_NPM = `
const fs = require("node:fs"); const path = require("node:path");
const state = process.env.REPLAY_STATE; const args = process.argv.slice(2);
const s = JSON.parse(fs.readFileSync(state, "utf8")); s.calls.push(["npm", ...args]); fs.writeFileSync(state, JSON.stringify(s));
if (args[0] === "ci") {
  if (!fs.existsSync("package-lock.json")) { console.error("npm ci needs package-lock.json"); process.exit(1); }
  fs.symlinkSync(path.join(process.env.REPLAY_REPO_ROOT, "node_modules"), "node_modules", "dir");
  process.exit(0);
}
if (args[0] === "test") process.exit(0);
console.error("fake npm: unsupported " + args.join(" ")); process.exit(3);
`;

export interface WorldOptions {
  pullRequests?: Record<number, "open" | "closed">;
  stacks?: string[];
  /** Files added to (or replacing files of) the commit under test. */
  files?: Record<string, string>;
  /** Repository files left out of the commit under test. */
  without?: string[];
}

export async function createWorld(options: WorldOptions = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "secure-export-replay-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  for (const [name, source] of [["pulumi", FAKE_PULUMI], ["az", FAKE_AZ], ["npm", FAKE_NPM]] as const) {
    writeFileSync(join(bin, name), `#!${process.execPath}\n${source}`);
    chmodSync(join(bin, name), 0o755);
  }
  const statePath = join(dir, "state.json");
  writeFileSync(statePath, JSON.stringify({ stacks: options.stacks ?? [], calls: [], registered: [], deployed: {} }));

  const source = join(dir, "source");
  for (const file of listCheckoutFiles().filter((f) => !options.without?.includes(f))) {
    mkdirSync(dirname(join(source, file)), { recursive: true });
    copyFileSync(join(REPO_ROOT, file), join(source, file));
  }
  for (const [file, text] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(source, file)), { recursive: true });
    writeFileSync(join(source, file), text);
  }
  const git = (cwd: string, ...args: string[]) => execFileSync("git", ["-c", "user.name=replay", "-c", "user.email=replay@example.com", ...args], { cwd, stdio: "pipe" });
  git(source, "init", "-q", "-b", "main");
  git(source, "add", "-A");
  git(source, "commit", "-q", "-m", "the commit under test");
  const origin = join(dir, "origin.git");
  git(dir, "clone", "-q", "--bare", source, origin);
  const sha = execFileSync("git", ["rev-parse", "HEAD"], { cwd: source, encoding: "utf8" }).trim();

  const pullRequests = new Map(Object.entries(options.pullRequests ?? {}).map(([n, s]) => [Number(n), s]));
  const server: Server = createServer((req, res) => {
    const match = new RegExp(`^/repos/${REPOSITORY}/pulls/(\\d+)$`).exec(req.url ?? "");
    if (req.headers.authorization !== "Bearer fake-github-token") {
      res.writeHead(401).end(JSON.stringify({ message: "Bad credentials" }));
    } else if (req.method === "GET" && match && pullRequests.has(Number(match[1]))) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ number: Number(match[1]), state: pullRequests.get(Number(match[1])) }));
    } else res.writeHead(404).end(JSON.stringify({ message: "Not Found" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  const readState = () => JSON.parse(readFileSync(statePath, "utf8")) as { stacks: string[]; calls: string[][]; registered: string[]; deployed: Record<string, string> };
  const merge = (files: Record<string, string>, message: string): string => {
    const work = mkdtempSync(join(dir, "merge-"));
    git(dir, "clone", "-q", origin, work);
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(work, file)), { recursive: true });
      writeFileSync(join(work, file), text);
    }
    git(work, "add", "-A");
    git(work, "commit", "-q", "-m", message);
    git(work, "push", "-q", "origin", "HEAD:main");
    const merged = execFileSync("git", ["rev-parse", "HEAD"], { cwd: work, encoding: "utf8" }).trim();
    rmSync(work, { recursive: true, force: true });
    return merged;
  };

  return {
    dir,
    origin,
    sha,
    pullRequests,
    apiUrl: `http://127.0.0.1:${address.port}`,
    stacks: () => readState().stacks,
    setStacks: (names) => writeFileSync(statePath, JSON.stringify({ ...readState(), stacks: names })),
    calls: () => readState().calls,
    registered: () => readState().registered,
    deployed: () => readState().deployed,
    setDeployed: (stack, image) => writeFileSync(statePath, JSON.stringify({ ...readState(), deployed: { ...readState().deployed, [stack]: image } })),
    merge,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface StepResult {
  label: string;
  outcome: "success" | "failure" | "skipped";
  stdout: string;
  stderr: string;
}

export interface JobResult {
  ok: boolean;
  /** The job's `if:` was false: GitHub skips it without running a step. */
  skipped: boolean;
  /** The job's checkout, as it was when the job ended. */
  checkout: string;
  steps: StepResult[];
  outputs: Record<string, string>;
  /** pulumi/actions runs: command, stack, inputs and the stack file as it was when it ran. */
  pulumiActions: Array<{ command: string; stack: string; with: Record<string, string>; stackFile?: string }>;
}

export interface JobContext {
  /** `github.event` of the run. */
  event?: Record<string, unknown>;
  eventName?: string;
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  needs?: Record<string, { outputs: Record<string, string>; result: string }>;
  matrix?: Record<string, unknown>;
  /** The run's commit (GITHUB_SHA); default: the commit under test. */
  sha?: string;
  /** Called while pulumi/actions runs `up` (what else happens on GitHub during a deploy: a merge). */
  duringUp?: (stack: string) => void;
}

type Contexts = Record<string, unknown>;

const STATUS_FUNCTIONS = ["success", "always", "failure", "cancelled"];

function evaluate(expression: string, contexts: Contexts, failed: boolean): data.ExpressionData {
  const functions = new Map(
    STATUS_FUNCTIONS.map((name) => [name, { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(name === "always" || (name === "success" ? !failed : name === "failure" ? failed : false)) }]),
  );
  const tokens = new Lexer(expression).lex().tokens;
  const tree = new Parser(tokens, Object.keys(contexts), [...functions.values()]).parse();
  return new Evaluator(tree, JSON.parse(JSON.stringify(contexts), data.reviver) as data.Dictionary, functions).evaluate();
}

/** `${{ … }}` substituted into text, as the runner does for `with:`, `env:` and scripts. */
function interpolate(text: string, contexts: Contexts, failed = false): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expression: string) => evaluate(expression.trim(), contexts, failed).coerceString());
}

/** `if:` holds an expression with or without `${{ }}`; no `if:` means success(). */
function condition(text: string | undefined, contexts: Contexts, failed: boolean): boolean {
  const expression = (text ?? "success()").trim().replace(/^\$\{\{([\s\S]*)\}\}$/, "$1");
  const usesStatus = /\b(success|always|failure|cancelled)\(\)/.test(expression);
  return truthy(evaluate(usesStatus ? expression : `success() && (${expression})`, contexts, failed));
}

/** GITHUB_OUTPUT / GITHUB_ENV file format: `k=v` lines and `k<<DELIM … DELIM` blocks. */
function parseCommandFile(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      result[heredoc[1]!] = lines.slice(i + 1, end).join("\n");
      i = end;
    } else if (line.includes("=")) result[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
  }
  return result;
}

function bash(script: string, shell: string | undefined, env: Record<string, string>, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(env.RUNNER_TEMP!, `step-${createHash("sha1").update(script + Math.random()).digest("hex").slice(0, 8)}.sh`);
  writeFileSync(file, script);
  const args = shell === undefined ? ["-e", file] : shell === "bash" ? ["--noprofile", "--norc", "-eo", "pipefail", file] : null;
  if (!args) throw new Error(`replay: shell "${shell}" is not replayed`);
  return new Promise((resolve) => {
    const child = spawn("bash", args, { cwd, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export async function replayJob(world: World, job: Job, context: JobContext = {}): Promise<JobResult> {
  const runnerTemp = mkdtempSync(join(world.dir, "runner-"));
  const outputFile = join(runnerTemp, "output");
  const envFile = join(runnerTemp, "env");
  // A fresh runner: the run's commit on branch main, as actions/checkout leaves it; no node_modules.
  const checkout = join(runnerTemp, "work");
  execFileSync("git", ["clone", "-q", world.origin, checkout], { stdio: "pipe" });
  const sha = context.sha ?? world.sha;
  execFileSync("git", ["checkout", "-q", "-B", "main", sha], { cwd: checkout, stdio: "pipe" });
  const github = { event: context.event ?? {}, event_name: context.eventName ?? "push", repository: REPOSITORY, sha, ref: "refs/heads/main", token: "fake-github-token", workspace: checkout };
  const steps: Record<string, { outputs: Record<string, string>; outcome: string; conclusion: string }> = {};
  const contexts = (env: Record<string, string>): Contexts => ({
    github,
    env,
    vars: context.vars ?? {},
    secrets: context.secrets ?? {},
    needs: context.needs ?? {},
    matrix: context.matrix ?? {},
    steps,
    job: {},
    runner: { os: "Linux", temp: runnerTemp },
    strategy: {},
    inputs: {},
  });
  const evalEnv = (map: Record<string, string>, base: Record<string, string>) => {
    const out = { ...base };
    for (const [k, v] of Object.entries(map)) out[k] = interpolate(v, contexts(out));
    return out;
  };
  let env = evalEnv(job.env, evalEnv(job.workflow.env, {}));
  const result: JobResult = { ok: true, skipped: false, checkout, steps: [], outputs: {}, pulumiActions: [] };
  let failed = false;
  if (!condition(job.if, contexts(env), false)) return { ...result, skipped: true };

  for (const [index, step] of job.steps.entries()) {
    const label = `${index + 1} ${step.id ?? step.name ?? step.uses ?? step.run?.split("\n")[0]}`;
    if (!condition(step.if, contexts(env), failed)) {
      result.steps.push({ label, outcome: "skipped", stdout: "", stderr: "" });
      if (step.id) steps[step.id] = { outputs: {}, outcome: "skipped", conclusion: "skipped" };
      continue;
    }
    const stepEnv = evalEnv(step.env, env);
    const withInputs = Object.fromEntries(Object.entries(step.with).map(([k, v]) => [k, interpolate(v, contexts(stepEnv), failed)]));
    let outcome: StepResult = { label, outcome: "success", stdout: "", stderr: "" };
    let outputs: Record<string, string> = {};
    if (step.run !== undefined) {
      writeFileSync(outputFile, "");
      writeFileSync(envFile, "");
      const script = interpolate(step.run, contexts(stepEnv), failed);
      const processEnv: Record<string, string> = {
        ...stepEnv,
        PATH: `${join(world.dir, "bin")}:${dirname(process.execPath)}:/usr/bin:/bin`,
        HOME: runnerTemp,
        RUNNER_TEMP: runnerTemp,
        GITHUB_OUTPUT: outputFile,
        GITHUB_ENV: envFile,
        GITHUB_SHA: sha,
        GITHUB_REPOSITORY: REPOSITORY,
        GITHUB_API_URL: world.apiUrl,
        GITHUB_WORKSPACE: checkout,
        REPLAY_STATE: join(world.dir, "state.json"),
        REPLAY_REPO_ROOT: REPO_ROOT,
      };
      const run = await bash(script, step.shell, processEnv, checkout);
      outcome = { label, outcome: run.code === 0 ? "success" : "failure", stdout: run.stdout, stderr: run.stderr };
      outputs = parseCommandFile(readFileSync(outputFile, "utf8"));
      env = { ...env, ...parseCommandFile(readFileSync(envFile, "utf8")) };
    } else {
      const acted = standIn(world, checkout, step, withInputs, result, context);
      outcome = { label, ...acted.outcome };
      outputs = acted.outputs;
    }
    if (outcome.outcome === "failure") failed = true;
    result.steps.push(outcome);
    if (step.id) steps[step.id] = { outputs, outcome: outcome.outcome, conclusion: outcome.outcome };
  }
  result.ok = !failed;
  for (const [name, expression] of Object.entries(job.outputs)) result.outputs[name] = interpolate(expression, contexts(env));
  return result;
}

function standIn(world: World, checkout: string, step: Step, inputs: Record<string, string>, job: JobResult, context: JobContext): { outcome: Omit<StepResult, "label">; outputs: Record<string, string> } {
  const ok = { outcome: "success" as const, stdout: "", stderr: "" };
  const action = step.uses!.replace(/@.*$/, "");
  switch (action) {
    case "actions/checkout":
    case "actions/setup-node":
    case "azure/login":
    case "docker/setup-buildx-action":
      return { outcome: ok, outputs: {} };
    case "docker/build-push-action": {
      if (!existsSync(join(checkout, inputs.file ?? "Dockerfile"))) return { outcome: { ...ok, outcome: "failure", stderr: `no ${inputs.file}` }, outputs: {} };
      const digest = `sha256:${createHash("sha256").update(inputs.tags ?? "").digest("hex")}`;
      return { outcome: { ...ok, stdout: `pushed ${inputs.tags}` }, outputs: { digest } };
    }
    case "pulumi/actions": {
      if (!inputs.command) return { outcome: ok, outputs: {} };
      const stack = inputs["stack-name"] ?? "";
      const exists = world.stacks().includes(stack);
      if (!exists && inputs.upsert !== "true") return { outcome: { ...ok, outcome: "failure", stderr: `no stack named '${stack}' found` }, outputs: {} };
      if (inputs["config-map"]) parse(inputs["config-map"]);
      const stackFile = join(checkout, `Pulumi.${stack}.yaml`);
      job.pulumiActions.push({ command: inputs.command, stack, with: inputs, ...(existsSync(stackFile) ? { stackFile: readFileSync(stackFile, "utf8") } : {}) });
      if (inputs.command === "up" && !exists) world.setStacks([...world.stacks(), stack]);
      if (inputs.command === "up" && existsSync(stackFile)) {
        const image = (parse(readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null)?.config?.["secure-export:image"];
        if (typeof image === "string") world.setDeployed(stack, image);
        context.duringUp?.(stack);
      }
      if (inputs.command === "destroy" && inputs.remove === "true") world.setStacks(world.stacks().filter((s) => s !== stack));
      return { outcome: ok, outputs: {} };
    }
    default:
      throw new Error(`replay: no stand-in for ${step.uses}`);
  }
}

/** The files of `origin`'s main branch, as a later checkout would see them. */
export function originFile(world: World, path: string): string {
  return execFileSync("git", ["--git-dir", world.origin, "show", `main:${path}`], { encoding: "utf8" });
}

export function originLog(world: World): string[] {
  return execFileSync("git", ["--git-dir", world.origin, "log", "--format=%s", "main"], { encoding: "utf8" }).trim().split("\n");
}
