/**
 * Checks the GitHub workflows for what actionlint cannot see (rules in workflow-rules.ts): jobs
 * install what the repository code they run needs, failures fail their step, every OIDC subject is
 * docs/deploy/pipelines.md tells users to federate, pull requests neither use a deploy identity nor share a
 * concurrency group with a deploy, no stack configuration lives only in a runner, and preview
 * stacks are never brought up or torn down blindly.
 *
 *   node .ci/check-workflows.ts [--workflows .github/workflows] [--readme docs/deploy/pipelines.md] [--repo-root .] [--default-branch main]
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadWorkflows } from "./workflow-model.ts";
import { checkWorkflows } from "./workflow-rules.ts";

const { values } = parseArgs({
  options: {
    workflows: { type: "string", default: ".github/workflows" },
    readme: { type: "string", default: "docs/deploy/pipelines.md" },
    "repo-root": { type: "string", default: "." },
    "default-branch": { type: "string", default: "main" },
  },
});

const workflows = loadWorkflows(values.workflows, resolve(values["repo-root"]));
const problems = checkWorkflows(workflows, readFileSync(values.readme, "utf8"), { defaultBranch: values["default-branch"] });
for (const p of problems) console.error(`${p.file}${p.job ? ` job ${p.job}` : ""}: [${p.rule}] ${p.message}`);
console.log(`workflow checks: ${workflows.length} workflows, ${workflows.reduce((n, w) => n + w.jobs.length, 0)} jobs, ${problems.length} problems`);
process.exit(problems.length > 0 ? 1 : 0);
