/**
 * The git questions deploy-order needs answered about the checkout the job runs in, through the git
 * CLI (the runner's checkout is a git repository with full history: actions/checkout fetch-depth 0).
 */
import { execFileSync } from "node:child_process";
import type { CommitChange } from "./deploy-order.ts";
import { PipelineError } from "./errors.ts";

function git(cwd: string, args: string[], allowFailure = false): string | undefined {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    if (allowFailure) return undefined;
    throw new PipelineError("GIT", `git ${args.join(" ")} failed: ${String((error as { stderr?: unknown }).stderr ?? (error as Error).message).trim()}`);
  }
}

/** Whether `commit` is `ref` or one of its ancestors (`git merge-base --is-ancestor`: exit 0 yes, 1 no). */
export function isAncestor(cwd: string, commit: string, ref: string): boolean {
  return git(cwd, ["merge-base", "--is-ancestor", commit, ref], true) !== undefined;
}

/** The commits of `ref` after `commit`, oldest first, each with its changes against its first parent. */
export function commitsAfter(cwd: string, commit: string, ref: string): CommitChange[] {
  const shas = git(cwd, ["rev-list", "--reverse", "--first-parent", `${commit}..${ref}`])!.split("\n").filter(Boolean);
  return shas.map((sha) => {
    const subject = git(cwd, ["log", "-1", "--format=%s", sha])!.trim();
    const paths = git(cwd, ["diff", "--name-only", `${sha}^1`, sha])!.split("\n").filter(Boolean);
    const show = (rev: string, path: string) => git(cwd, ["show", `${rev}:${path}`], true);
    return { sha, subject, files: paths.map((path) => ({ path, before: show(`${sha}^1`, path), after: show(sha, path) })) };
  });
}
