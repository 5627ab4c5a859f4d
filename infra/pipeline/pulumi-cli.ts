/**
 * The two Pulumi CLI calls the pipeline makes outside pulumi/actions: list the project's stacks and
 * destroy a preview stack. pulumi/actions cannot do either safely: it selects a stack without
 * upsert, so `destroy` of a stack that never existed fails the job
 * (pulumi/actions src/main.ts: `config.upsert ? createOrSelectStack : selectStack`).
 *
 *   pulumi stack ls --json                                  → [{ "name": "pr-7", "current": false, … }]
 *   pulumi destroy --yes --non-interactive --remove --stack pr-7
 *     (`--remove` deletes the stack and its config file after its resources:
 *      https://www.pulumi.com/docs/iac/cli/commands/pulumi_destroy/)
 *
 * The CLI's own output goes to this process's stderr: stdout is reserved for the command's answer,
 * which the workflow appends to $GITHUB_OUTPUT.
 */
import { spawn } from "node:child_process";
import { PipelineError } from "./errors.ts";

export interface PulumiCli {
  /** Names of the current project's stacks in the logged-in backend. */
  listStacks(): Promise<string[]>;
  destroyAndRemove(stack: string): Promise<void>;
}

/** Runs the CLI; resolves with its stdout when `capture`, else its stdout goes to our stderr. */
function pulumi(args: string[], cwd: string, capture: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", args, { cwd, stdio: ["ignore", capture ? "pipe" : process.stderr, process.stderr] });
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk));
    child.on("error", (error) => reject(new PipelineError("PULUMI_CLI", `pulumi ${args.join(" ")} could not start: ${error.message} (is the Pulumi CLI installed and on PATH?)`)));
    child.on("close", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new PipelineError("PULUMI_CLI", `pulumi ${args.join(" ")} exited with ${code}`));
    });
  });
}

export function pulumiCli(projectDir: string): PulumiCli {
  return {
    async listStacks() {
      const out = await pulumi(["stack", "ls", "--json", "--non-interactive"], projectDir, true);
      let parsed: unknown;
      try {
        parsed = JSON.parse(out);
      } catch {
        throw new PipelineError("PULUMI_CLI", `pulumi stack ls --json printed no JSON: ${out.slice(0, 200)}`);
      }
      if (!Array.isArray(parsed) || parsed.some((s) => typeof (s as { name?: unknown })?.name !== "string")) {
        throw new PipelineError("PULUMI_CLI", `pulumi stack ls --json printed no list of stacks: ${out.slice(0, 200)}`);
      }
      return (parsed as Array<{ name: string }>).map((s) => s.name);
    },
    async destroyAndRemove(stack) {
      await pulumi(["destroy", "--yes", "--non-interactive", "--remove", "--stack", stack], projectDir, false);
    },
  };
}
