/**
 * The one GitHub REST call the pipeline makes: a pull request's state, read when a job is about to
 * act on its preview stack (the event payload that queued the job may be minutes old).
 * `GET /repos/{owner}/{repo}/pulls/{pull_number}` answers `state: "open" | "closed"` and 404 for a
 * number that is not a pull request (https://docs.github.com/rest/pulls/pulls#get-a-pull-request).
 * Node's fetch is enough for one GET; no client library needed.
 */
import { PipelineError } from "./errors.ts";
import type { PullRequestState } from "./preview-lifecycle.ts";

export interface GitHubRepository {
  /** `GITHUB_API_URL` on a runner (GitHub Enterprise Server has its own). */
  apiUrl: string;
  /** `owner/name`, as in `GITHUB_REPOSITORY`. */
  repository: string;
  token: string;
}

export function gitHubRepositoryFromEnv(env: NodeJS.ProcessEnv): GitHubRepository {
  const repository = env.GITHUB_REPOSITORY;
  const token = env.GITHUB_TOKEN;
  if (!repository || !/^[\w.-]+\/[\w.-]+$/.test(repository)) {
    throw new PipelineError("MISSING_ENVIRONMENT", `GITHUB_REPOSITORY must be owner/name, got "${repository ?? ""}"`);
  }
  if (!token) throw new PipelineError("MISSING_ENVIRONMENT", "GITHUB_TOKEN is unset: give the step `env: GITHUB_TOKEN: ${{ github.token }}` and the job `pull-requests: read`");
  return { apiUrl: (env.GITHUB_API_URL ?? "https://api.github.com").replace(/\/+$/, ""), repository, token };
}

export async function pullRequestState(github: GitHubRepository, pullRequest: number): Promise<PullRequestState> {
  const url = `${github.apiUrl}/repos/${github.repository}/pulls/${pullRequest}`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: "application/vnd.github+json", authorization: `Bearer ${github.token}`, "x-github-api-version": "2022-11-28" },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new PipelineError("GITHUB_API", `GET ${url} failed: ${(error as Error).message}`);
  }
  if (response.status === 404) return "missing";
  if (!response.ok) {
    throw new PipelineError("GITHUB_API", `GET ${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  }
  const body = (await response.json()) as { state?: unknown };
  if (body.state !== "open" && body.state !== "closed") {
    throw new PipelineError("GITHUB_API", `GET ${url} answered no pull request state (state: ${JSON.stringify(body.state)})`);
  }
  return body.state;
}
