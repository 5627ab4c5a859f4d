/**
 * Loading the rules at start-up: from ROUTING_RULES (the text, YAML or JSON) or
 * ROUTING_RULES_FILE (a path), never both. Invalid rules stop start-up with one error that lists
 * every problem with its line and field. Rules change on the next start: nothing is reloaded.
 */
import { readFileSync } from "node:fs";
import { loadConnectorsConfig, type ConnectorConfig } from "../connectors/connector-config.ts";
import { ConfigError, type Env } from "../env.ts";
import type { AdmissionPolicy } from "./admission.ts";
import { compileRules, type CompiledRules } from "./compile-rules.ts";
import { environmentConnectors, type NamedConnector, type SecretReader } from "./connectors.ts";
import type { MaintenanceWindow } from "./maintenance.ts";
import { RoutingRulesError, type LocatedProblem } from "./problems.ts";
import type { Route } from "./routes.ts";
import { parseRules, shapeProblems } from "./rules-document.ts";
import type { RulesDocument } from "./rules-schema.ts";
import { profileOf } from "./set-fields.ts";

export const ROUTING_RULES = "ROUTING_RULES";
export const ROUTING_RULES_FILE = "ROUTING_RULES_FILE";

export interface RoutingRules {
  /** Null without an `admission` section: every alert is admitted. */
  admission: AdmissionPolicy | null;
  /** Every connector: today's variables' (`default`) first, then those the rules declare. */
  connectors: NamedConnector[];
  /** Null without a `routes` section: every connector gets every incident. */
  routes: Route[] | null;
  maintenance: MaintenanceWindow[];
}

/** The connectors shape the preview check needs: kind and mode, no URL or secret. */
export type ConnectorShape = { kind: "servicenow"; mode: "table" | "event" } | { kind: "bmc-helix" };

/** No rules: admit everything, send it to every connector, hold nothing (the behaviour before rules). */
export function noRoutingRules(environment: readonly ConnectorConfig[]): RoutingRules {
  return { admission: null, connectors: environmentConnectors(environment), routes: null, maintenance: [] };
}

/** Reads `passwordEnv` from the environment given and `passwordFile` from disk. */
export function secretReader(env: Env): SecretReader {
  return (ref) => ("env" in ref ? (env[ref.env] ?? "") : readFileSync(ref.file, "utf8"));
}

function compile(text: string, environment: readonly ConnectorShape[], readSecret: SecretReader): { rules: CompiledRules | null; problems: LocatedProblem[] } {
  const { parsed, problems } = parseRules(text);
  if (!parsed) return { rules: null, problems };
  const value = parsed.value ?? {};
  const shape = shapeProblems(value);
  // Ajv paths cannot tell a list index from a key that looks like a number: compare as text.
  const prefix = (a: readonly unknown[], b: readonly unknown[]) => a.length <= b.length && a.every((part, i) => String(b[i]) === String(part));
  const broken = (path: readonly (string | number)[]) => shape.some((p) => prefix(p.path, path) || prefix(path, p.path));
  const named = environmentConnectors(environment);
  const compiled = compileRules(value as RulesDocument, { environment: named.map((c) => ({ name: c.name, profile: profileOf(c.config) })), readSecret, broken });
  const all = [...shape, ...compiled.problems].map(parsed.locate).sort((a, b) => a.line - b.line || a.column - b.column);
  if (all.length > 0) return { rules: null, problems: all };
  return { rules: compiled.rules, problems: [] };
}

/**
 * Parses and checks rules text. `variable` names where it came from in the error;
 * `environment` is what loadConnectorsConfig read from today's variables.
 */
export function parseRoutingRules(text: string, options: { variable: string; environment: readonly ConnectorConfig[]; readSecret: SecretReader }): RoutingRules {
  const { rules, problems } = compile(text, options.environment, options.readSecret);
  if (!rules) throw new RoutingRulesError(options.variable, problems);
  return { ...rules, connectors: [...environmentConnectors(options.environment), ...rules.connectors] };
}

/**
 * Every problem in rules text, without reading any secret: for checks made before the receiver
 * runs (a Pulumi preview of `secure-export:routing`, a CI step). Secret references are checked for
 * form only. `environment` lists the connectors today's variables will configure.
 */
export function checkRoutingRules(text: string, environment: readonly ConnectorShape[] = []): LocatedProblem[] {
  return compile(text, environment, () => "unread").problems;
}

/** The rules from the environment, or noRoutingRules when neither variable is set. Throws ConfigError. */
export function loadRoutingRules(env: Env, environment: readonly ConnectorConfig[] = loadConnectorsConfig(env).connectors): RoutingRules {
  const inline = env[ROUTING_RULES]?.trim();
  const file = env[ROUTING_RULES_FILE]?.trim();
  if (inline && file) throw new ConfigError(ROUTING_RULES_FILE, `and ${ROUTING_RULES} are both set: give the rules one way`);
  if (!inline && !file) return noRoutingRules(environment);
  let text = inline;
  if (file) {
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new ConfigError(ROUTING_RULES_FILE, `names a file that cannot be read: ${(error as Error).message}`);
    }
  }
  return parseRoutingRules(text!, { variable: inline ? ROUTING_RULES : ROUTING_RULES_FILE, environment, readSecret: secretReader(env) });
}
