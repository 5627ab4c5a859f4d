/**
 * What to do with a pull request's preview stack, decided from the pull request's state as GitHub
 * reports it *now* and whether the stack exists. Pure.
 *
 * Every job that touches `pr-<n>` (bring-up, teardown on close, the scheduled sweep) runs this
 * decision inside the `pulumi-pr-<n>` concurrency group, right before it acts. GitHub runs the
 * group's jobs one at a time but in no particular event order, so the decision — not the event that
 * queued the job — is what makes teardown win: whichever job runs last after the close sees the PR
 * closed and removes the stack.
 */
import { previewStackName } from "./preview-stack.ts";

/** `missing`: the number names no pull request (an issue, or a deleted repository's leftovers). */
export type PullRequestState = "open" | "closed" | "missing";
export type PreviewAction = "up" | "destroy" | "none";

export function previewAction(pullRequest: PullRequestState, stackExists: boolean): PreviewAction {
  if (pullRequest === "open") return "up";
  return stackExists ? "destroy" : "none";
}

/**
 * Pull request numbers of the preview stacks among `stackNames` (as `pulumi stack ls --json` prints
 * them: `pr-7`, or fully qualified `org/project/pr-7`), ascending and without repeats.
 */
export function previewStackNumbers(stackNames: readonly string[]): number[] {
  const numbers = new Set<number>();
  for (const name of stackNames) {
    const match = /^pr-([1-9]\d*)$/.exec(name.split("/").at(-1) ?? "");
    if (match) numbers.add(Number(match[1]));
  }
  return [...numbers].sort((a, b) => a - b);
}

/**
 * The name, as listed, of `pullRequest`'s preview stack among `stackNames`: commands are given the
 * listed (possibly fully qualified) name, so they act on exactly the stack that was found.
 */
export function findPreviewStack(stackNames: readonly string[], pullRequest: number): string | undefined {
  const wanted = previewStackName(pullRequest);
  return stackNames.find((name) => name.split("/").at(-1) === wanted);
}
