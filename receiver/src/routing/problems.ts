/**
 * What is wrong with a rules document, in one place with stable codes. Every check collects
 * problems instead of stopping at the first, so one start-up shows everything to fix.
 */
import { ConfigError } from "../env.ts";

/** A field's place in the document: keys and list indexes, as `routes[2].to[0]` shows them. */
export type RulesPath = readonly (string | number)[];

export type ProblemCode =
  | "syntax"
  | "unknown_key"
  | "missing_key"
  | "wrong_type"
  | "invalid_value"
  | "empty"
  | "duplicate_name"
  | "unknown_connector"
  | "invalid_glob"
  | "invalid_cron"
  | "invalid_time_zone"
  | "invalid_duration"
  | "invalid_timestamp"
  | "inline_secret"
  | "secret_unavailable"
  // Warnings: the rules work, but not as their author probably expects (noise.ts).
  | "hold_shorter_than_azure_resolves"
  | "hold_on_stateless_alerts";

export interface Problem {
  code: ProblemCode;
  path: RulesPath;
  message: string;
}

export interface LocatedProblem extends Problem {
  /** 1-based, in the text the rules came from. */
  line: number;
  column: number;
}

export function problem(code: ProblemCode, path: RulesPath, message: string): Problem {
  return { code, path, message };
}

/** `routes[2].to[0]`; a key that is not a plain identifier is quoted: `customProperties["cost center"]`. */
export function formatPath(path: RulesPath): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(part)) text += text ? `.${part}` : part;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text || "(document)";
}

export function formatProblem(p: LocatedProblem): string {
  return `line ${p.line}, column ${p.column}: ${formatPath(p.path)} ${p.message}`;
}

/**
 * Start-up stops on this like on any ConfigError (serve.ts prints the message), and the message
 * lists every problem with its line and field. `problems` keeps them apart for callers that show
 * them one by one (the Pulumi preview check).
 */
export class RoutingRulesError extends ConfigError {
  readonly code = "routing_rules_invalid";
  readonly problems: readonly LocatedProblem[];

  constructor(variable: string, problems: readonly LocatedProblem[]) {
    const lines = problems.map(formatProblem);
    super(variable, lines.length === 1 ? lines[0]! : `has ${lines.length} problems:\n  ${lines.join("\n  ")}`);
    this.name = "RoutingRulesError";
    this.problems = problems;
  }
}
