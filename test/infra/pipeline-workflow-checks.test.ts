/**
 * The semantic workflow checks (.ci/check-workflows.ts): the project's workflows pass, and the
 * workflows main had before issue 11 (test/fixtures/workflows-before-issue-11, copied from
 * `git show <that commit>:.github/workflows/…`) fail with each of the bugs the infrastructure review
 * found in them. Small workflows cover each rule's edges.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadWorkflows, parseWorkflow } from "../../.ci/workflow-model.ts";
import { checkWorkflows, groupsMayCollide, readmeSubjects, type Problem, type RuleId } from "../../.ci/workflow-rules.ts";
import { run } from "../support/processes.ts";
import { REPO_ROOT } from "../support/paths.ts";

const OPTIONS = { defaultBranch: "main" };
const README = readFileSync(join(REPO_ROOT, "docs/deploy/pipelines.md"), "utf8");
const BEFORE = join(REPO_ROOT, "test/fixtures/workflows-before-issue-11");
const before = checkWorkflows(loadWorkflows(BEFORE, REPO_ROOT), readFileSync(join(BEFORE, "README.md"), "utf8"), OPTIONS);
const where = (problems: Problem[], rule: RuleId) => problems.filter((p) => p.rule === rule).map((p) => `${p.file.split("/").at(-1)}#${p.job ?? ""}`);

/** One workflow file's problems (and the README's, with `readme`). */
function check(yaml: string, readme?: string): Problem[] {
  const problems = checkWorkflows([parseWorkflow("test.yml", yaml, REPO_ROOT)], readme ?? README, OPTIONS);
  return readme === undefined ? problems.filter((p) => p.file === "test.yml") : problems;
}

describe("the project's workflows", () => {
  it("pass every check", () => {
    expect(checkWorkflows(loadWorkflows(join(REPO_ROOT, ".github/workflows"), REPO_ROOT), README, OPTIONS)).toEqual([]);
  });

  it("install the Pulumi CLI release of the locked SDK, not whatever ^3 resolves to", () => {
    // pulumi/actions installs `pulumi-version ?? '^3'` (src/config.ts): unpinned, the CLI changes under the program.
    const setup = parseWorkflow("setup.yml", `on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: ./.github/actions/pulumi-setup\n`, REPO_ROOT).jobs[0]!;
    const install = setup.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"));
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
    expect(install.map((s) => s.with["pulumi-version"])).toEqual([lock.packages["node_modules/@pulumi/pulumi"]!.version]);
  });

  it("docs/deploy/pipelines.md lists exactly the subjects the jobs use", () => {
    expect([...readmeSubjects(README)].sort()).toEqual(["environment:dev", "environment:production", "pull_request", "ref:refs/heads/main"]);
  });
});

describe("the workflows before issue 11 fail with each bug the review found", () => {
  it("A2: main.yml's image job runs cli.ts (which imports yaml) without npm ci", () => {
    expect(before).toContainEqual(expect.objectContaining({ rule: "installs-before-running", job: "image", message: "step 6 (tag) runs repository code without npm ci before it" }));
    expect(where(before, "installs-before-running")).toEqual(["main.yml#image", "main.yml#image"]);
  });

  it("A2: the failure inside echo \"tag=$(…)\" is swallowed and the step stays green", () => {
    expect(before.filter((p) => p.rule === "shell-failures-fail" && p.message.includes("a failure inside $(…) is swallowed"))).toHaveLength(4);
    expect(where(before, "shell-failures-fail")).toContain("main.yml#image");
  });

  it("A3: the image job's subject ref:refs/heads/main is not federated per the README", () => {
    expect(before.filter((p) => p.rule === "oidc-subject-federated")).toEqual([
      expect.objectContaining({ job: "image", message: expect.stringContaining("repo:<owner>/<repo>:ref:refs/heads/main is not among the federated credentials") }),
    ]);
  });

  it("A7: image and registry set with pulumi config set in the runner only", () => {
    expect(where(before, "config-in-git")).toEqual(["main.yml#deploy-dev", "main.yml#deploy-production"]);
  });

  it("A8: review-stack runs up with upsert without re-checking the PR", () => {
    expect(where(before, "upsert-guarded")).toEqual(["pull-request.yml#review-stack"]);
  });

  it("A9: pull-request jobs log in with the deploy identity; the image job reads it outside any environment", () => {
    expect(where(before, "separate-identities")).toEqual(["main.yml#image", "pull-request.yml#preview", "pull-request.yml#review-stack", "pull-request.yml#review-stack-teardown"]);
    expect(before.find((p) => p.rule === "separate-identities" && p.job === "review-stack")!.message).toMatch(/^a pull-request job logs in with vars\.AZURE_CLIENT_ID, the identity deploy job .*main\.yml#deploy-production uses/);
  });

  it("A12: the PR preview's group can equal the dev deploy's, so a PR can cancel a pending deploy", () => {
    expect(before.filter((p) => p.rule === "concurrency-isolated").map((p) => p.message)).toContainEqual(expect.stringContaining(`"pulumi-\${{ vars.PULUMI_TARGET_STACK || 'dev' }}" can equal deploy`));
    expect(where(before, "concurrency-isolated")).toEqual(["pull-request.yml#preview", "pull-request.yml#preview"]);
  });

  it("A24: the teardown's pulumi/actions destroy fails when the stack never existed", () => {
    expect(where(before, "teardown-tolerates-missing-stack")).toEqual(["pull-request.yml#review-stack-teardown"]);
  });

  it("check-workflows.ts exits 1 on them, naming file, job and rule, and 0 on the project's", async () => {
    const bad = await run([join(REPO_ROOT, ".ci/check-workflows.ts"), "--workflows", BEFORE, "--readme", join(BEFORE, "README.md")], { PATH: process.env.PATH });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("main.yml job image: [installs-before-running] step 6 (tag) runs repository code without npm ci before it");
    expect(bad.stdout).toMatch(/workflow checks: 2 workflows, 8 jobs, [1-9]\d* problems/);
    const good = await run([join(REPO_ROOT, ".ci/check-workflows.ts")], { PATH: process.env.PATH });
    expect(good).toMatchObject({ code: 0, stderr: "" });
  });
});

const job = (body: string, on = "push:\n    branches: [main]") => `on:\n  ${on}\njobs:\n  j:\n    runs-on: ubuntu-latest\n${body}`;
const SETUP = "      - uses: actions/checkout@v4\n      - uses: actions/setup-node@v4\n        with:\n          node-version: 24\n      - run: npm ci\n";

describe("rule edges", () => {
  it("installs-before-running: Node too old for TypeScript, install before checkout, the program run without install", () => {
    expect(check(job(`    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-node@v4\n        with:\n          node-version: 20\n      - run: npm ci\n      - run: node infra/pipeline/cli.ts image-tag --sha abc1234\n`)).map((p) => p.message)).toEqual([
      'step 2 (actions/setup-node@v4): node-version "20" cannot run the project\'s TypeScript (needs >= 22.18)',
      "step 3 (npm ci) installs dependencies before actions/checkout and actions/setup-node",
      "step 4 (node infra/pipeline/cli.ts image-tag --sha abc1234) runs repository code without actions/setup-node with Node >= 22.18 before it",
    ]);
    expect(check(job(`    steps:\n      - uses: actions/checkout@v4\n      - uses: pulumi/actions@v6\n        with:\n          command: preview\n          stack-name: dev\n`)).map((p) => p.message)).toEqual([
      "step 2 (pulumi/actions@v6) runs the Pulumi program without actions/setup-node with Node >= 22.18, npm ci before it",
    ]);
    expect(check(job(`    steps:\n${SETUP}      - run: npm test\n      - run: node -v\n`))).toEqual([]);
    // The local composite action counts: it installs.
    expect(check(job(`    steps:\n      - uses: actions/checkout@v4\n      - uses: ./.github/actions/pulumi-setup\n      - run: node infra/pipeline/cli.ts image-tag --sha abc1234\n`)).filter((p) => p.rule === "installs-before-running")).toEqual([]);
  });

  it("shell-failures-fail: pipes and several commands need pipefail; only plain assignments may hold $(…); no ${{ }} in scripts", () => {
    const messages = (script: string) => check(job(`    steps:\n${SETUP}      - run: |\n${script.split("\n").map((l) => `          ${l}`).join("\n")}\n`)).map((p) => p.message.replace(/^step 4 \([^)]*\): /, ""));
    expect(messages("node infra/pipeline/cli.ts closed-previews | tee out")).toEqual(["a script with several commands, pipes or $(…) must start with `set -euo pipefail`"]);
    expect(messages("set -euo pipefail\nexport X=$(node infra/pipeline/cli.ts image-tag --sha abc1234)")).toEqual(["a failure inside $(…) is swallowed here; assign it to a variable first (x=$(cmd)): export X=$(node infra/pipeline/cli.ts image-tag --sha abc1234)"]);
    expect(messages("set -euo pipefail\nX=`date`")).toEqual(["backtick command substitution swallows failures: X=`date`"]);
    expect(messages("echo ${{ github.event.pull_request.title }}")).toEqual(["uses a ${{ }} expression inside the script; pass it through env: instead"]);
    expect(messages("set -euo pipefail\nx=$(node infra/pipeline/cli.ts image-tag --sha abc1234)\necho \"x=$x\" >> \"$GITHUB_OUTPUT\"\ntest a || test b")).toEqual([]);
  });

  it("oidc-subject-federated: environment, pull_request, branch push, schedule; unknowable subjects; unused README subjects", () => {
    const perms = "    permissions:\n      id-token: write\n    steps:\n      - run: echo\n";
    const subjects = (yaml: string) => check(yaml).filter((p) => p.rule === "oidc-subject-federated").map((p) => p.message.replace(/^.*repo:<owner>\/<repo>:(\S+) .*$/, "$1").replace(/^id-token: write, but the OIDC subject cannot be known in advance \((.*)\).*$/, "unknown: $1"));
    const readme = "## GitOps pipelines\n`repo:<owner>/<repo>:pull_request` `repo:<owner>/<repo>:ref:refs/heads/main` `repo:<owner>/<repo>:environment:dev` `repo:<owner>/<repo>:environment:production`\n## Next";
    expect(subjects(job(perms, "push:\n    branches: [release]")).filter((s) => s === "ref:refs/heads/release")).toEqual(["ref:refs/heads/release"]);
    expect(subjects(job(perms, "push:\n    branches: ['release/*']"))).toContain("unknown: push without a literal branches filter (the subject depends on the branch or tag pushed)");
    expect(subjects(job(perms, "workflow_run:\n    workflows: [x]"))).toContain("unknown: trigger workflow_run");
    expect(subjects(job(`    environment: \${{ inputs.env }}\n${perms}`))).toContain('unknown: environment "${{ inputs.env }}" is an expression');
    expect(check(job(perms, "schedule:\n    - cron: '0 0 * * *'"), readme).filter((p) => p.job === "j")).toEqual([]);
    expect(check(job(`    environment:\n      name: dev\n${perms}`), readme).filter((p) => p.job === "j")).toEqual([]);
    // Jobs without id-token need no credential; README subjects no job uses are reported.
    expect(check(job("    steps:\n      - run: echo\n"), readme).map((p) => p.message)).toEqual([
      "docs/deploy/pipelines.md lists the subject repo:<owner>/<repo>:pull_request, which no id-token job uses",
      "docs/deploy/pipelines.md lists the subject repo:<owner>/<repo>:ref:refs/heads/main, which no id-token job uses",
      "docs/deploy/pipelines.md lists the subject repo:<owner>/<repo>:environment:dev, which no id-token job uses",
      "docs/deploy/pipelines.md lists the subject repo:<owner>/<repo>:environment:production, which no id-token job uses",
    ]);
    expect(readmeSubjects("# x\n`repo:<owner>/<repo>:pull_request`\n")).toEqual(new Set());
  });

  it("concurrency-isolated: group templates that can meet, and deploys without a group", () => {
    expect(groupsMayCollide("pulumi-${{ vars.PULUMI_TARGET_STACK || 'dev' }}", "pulumi-dev")).toBe(true);
    expect(groupsMayCollide("pulumi-pr-${{ github.event.pull_request.number }}", "pulumi-dev")).toBe(false);
    expect(groupsMayCollide("pulumi-pr-${{ github.event.pull_request.number }}", "pulumi-${{ inputs.stack }}")).toBe(true);
    expect(groupsMayCollide("pulumi-prod", "pulumi-dev")).toBe(false);
    const deploy = job("    environment: dev\n    steps:\n" + SETUP + "      - uses: pulumi/actions@v6\n        with:\n          command: up\n          stack-name: dev\n");
    expect(check(deploy).filter((p) => p.rule === "concurrency-isolated").map((p) => p.message)).toEqual(["a deploy without a concurrency group: two runs can update the same stack at once"]);
    expect(check(deploy.replace("    steps:", "    concurrency:\n      group: pulumi-dev\n      cancel-in-progress: true\n    steps:")).filter((p) => p.rule === "concurrency-isolated").map((p) => p.message)).toEqual([
      "a deploy with cancel-in-progress: a newer run interrupts a running pulumi up mid-way",
    ]);
  });

  it("upsert-guarded: accepts an up whose if reads the preview-reconcile step's action, refuses any other guard", () => {
    const upsert = (guard: string, concurrency = "    concurrency: pulumi-pr-1\n") =>
      job(
        `${concurrency}    steps:\n${SETUP}      - id: r\n        run: node infra/pipeline/cli.ts preview-reconcile --pr 1\n      - id: other\n        run: echo action=up\n      - if: ${guard}\n        uses: pulumi/actions@v6\n        with:\n          command: up\n          stack-name: pr-1\n          upsert: true\n`,
        "pull_request:",
      );
    const rule = (yaml: string) => check(yaml).filter((p) => p.rule === "upsert-guarded").map((p) => p.message.replace(/^step \d+ \([^)]*\) /, ""));
    expect(rule(upsert("steps.r.outputs.action == 'up'"))).toEqual([]);
    expect(rule(upsert("steps.other.outputs.action == 'up'"))).toEqual([expect.stringContaining("runs up with upsert without an open-PR check")]);
    expect(rule(upsert("github.event.action != 'closed'"))).toEqual([expect.stringContaining("runs up with upsert without an open-PR check")]);
    expect(rule(upsert("steps.r.outputs.action == 'up'", ""))).toEqual(["up with upsert outside a concurrency group: its open-PR check can race the teardown"]);
  });

  it("config-in-git: any pulumi config set/rm in a script", () => {
    for (const script of ["pulumi config set secure-export:image x", "pulumi config set-all --plaintext a=b", "pulumi config rm secure-export:image"]) {
      expect(check(job(`    steps:\n      - run: ${script}\n`)).map((p) => p.rule)).toContain("config-in-git");
    }
  });
});

describe("rules for a new subscription and for manual runs", () => {
  const UP = "      - uses: pulumi/actions@v6\n        with:\n          command: up\n          stack-name: dev\n";
  const REGISTER = "      - run: |\n          set -euo pipefail\n          namespaces=$(node infra/pipeline/cli.ts resource-providers)\n          for namespace in $namespaces; do\n            az provider register --namespace \"$namespace\" --wait\n          done\n";

  it("providers-registered: an up needs the program's resource providers registered before it, not after", () => {
    const rule = (steps: string) => check(job(`    concurrency: pulumi-dev\n    steps:\n${SETUP}${steps}`)).filter((p) => p.rule === "providers-registered").map((p) => p.message.replace(/^step \d+ \([^)]*\) /, ""));
    expect(rule(REGISTER + UP)).toEqual([]);
    expect(rule(UP + REGISTER)).toEqual([expect.stringContaining("runs up without first registering the program's resource providers")]);
    expect(rule("      - run: az provider register --namespace Microsoft.App\n" + UP)).toHaveLength(1);
  });

  it("dispatch-on-default-branch: id-token jobs of a dispatchable workflow run only on the default branch, or need a job that does", () => {
    const workflow = (findIf: string, removeIf = "") =>
      `on:\n  workflow_dispatch:\njobs:\n  find:\n${findIf}    runs-on: x\n    permissions:\n      id-token: write\n    steps:\n      - run: echo\n  remove:\n    needs: find\n${removeIf}    runs-on: x\n    permissions:\n      id-token: write\n    steps:\n      - run: echo\n`;
    const rule = (yaml: string) => check(yaml).filter((p) => p.rule === "dispatch-on-default-branch").map((p) => p.job);
    expect(rule(workflow("    if: github.ref == 'refs/heads/main'\n"))).toEqual([]);
    expect(rule(workflow(""))).toEqual(["find", "remove"]);
    expect(rule(workflow("    if: github.ref == 'refs/heads/main'\n", "    if: always()\n"))).toEqual(["remove"]);
    expect(rule(workflow("    if: github.ref == 'refs/heads/release'\n"))).toEqual(["find", "remove"]);
  });
});
