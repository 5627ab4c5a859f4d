/**
 * `secure-export rules check <file>`: the offline check of a routing rules file, as `amtool
 * check-config` is for Alertmanager. It calls the receiver's own checker, so it finds exactly the
 * problems start-up would, in the same words; only secrets are not read (they are checked for form),
 * since the machine running the check rarely holds them. This is the one place the CLI calls it.
 */
import { readFileSync } from "node:fs";
import { connectorsFromEnv } from "../src/connectors/kinds.ts";
import type { Env } from "../src/env.ts";
import { checkRules, type ConnectorShape } from "../src/routing/check.ts";
import { ROUTING_RULES_FILE } from "../src/routing/load-rules.ts";
import { RoutingRulesError } from "../src/routing/problems.ts";
import { CliError } from "./errors.ts";

/**
 * Null when the file is valid, else the message the receiver prints at start-up with
 * ROUTING_RULES_FILE=<file> (after "configuration error: "). `env` supplies the connectors today's
 * variables configure (SERVICENOW_URL …), which rules may route to as `default`.
 */
export function checkRulesFile(file: string, env: Env): string | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return `${ROUTING_RULES_FILE} names a file that cannot be read: ${(error as Error).message}`;
  }
  let environment: ConnectorShape[];
  try {
    environment = connectorsFromEnv(env);
  } catch (error) {
    throw new CliError(`the connector variables in this environment are not usable, so the rules cannot be checked against them: ${(error as Error).message}`);
  }
  const { problems } = checkRules(text, environment);
  return problems.length ? new RoutingRulesError(ROUTING_RULES_FILE, problems).message : null;
}
