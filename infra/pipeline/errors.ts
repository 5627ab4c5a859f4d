/** The pipeline commands' errors, with stable codes a workflow log (and a test) can match on. */

export type PipelineErrorCode =
  /** A command-line argument is missing or malformed. */
  | "BAD_ARGUMENT"
  /** An environment variable the command needs (GITHUB_REPOSITORY, GITHUB_TOKEN, …) is unset. */
  | "MISSING_ENVIRONMENT"
  /** The GitHub REST API answered with something other than the pull request. */
  | "GITHUB_API"
  /** The Pulumi CLI failed or printed something unexpected. */
  | "PULUMI_CLI"
  /** A git command on the job's checkout failed. */
  | "GIT";

export class PipelineError extends Error {
  readonly code: PipelineErrorCode;
  constructor(code: PipelineErrorCode, message: string) {
    super(message);
    this.name = "PipelineError";
    this.code = code;
  }
}
