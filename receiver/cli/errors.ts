/** Every failure the CLI reports: a message that says what to do, and the exit code. */
export class CliError extends Error {
  /** 1: the receiver, the network or sign-in failed; 2: the command line was wrong; 3: the receiver answered that something needs a person (`status`). */
  readonly exitCode: 1 | 2 | 3;
  constructor(message: string, exitCode: 1 | 2 | 3 = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = "UsageError";
  }
}
