/**
 * Loading the rules at start-up: from ROUTING_RULES (the text, YAML or JSON) or
 * ROUTING_RULES_FILE (a path), never both. Invalid rules stop start-up with one error that lists
 * every problem with its line and field. Rules change on the next start: nothing is reloaded.
 */
import { readFileSync } from "node:fs";
import { secretReader, secretReferences, type AuthSpec, type SecretReader } from "../connectors/credentials.ts";
import { connectorsFromEnv, profileOf, type ConnectorConfig } from "../connectors/kinds.ts";
import { ConfigError, type Env } from "../env.ts";
import type { AdmissionPolicy } from "./admission.ts";
import { compileRules, type CompiledRules } from "./compile-rules.ts";
import { environmentConnectors, type NamedConnector } from "./connectors.ts";
import type { MaintenanceWindow } from "./maintenance.ts";
import type { NoiseRule, StormRule } from "./noise.ts";
import { RoutingRulesError, type LocatedProblem } from "./problems.ts";
import type { Route } from "./routes.ts";
import { parseRules, shapeProblems } from "./rules-document.ts";
import type { RulesDocument } from "./rules-schema.ts";

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
  /** Noise control (noise.ts): grouping, holds, flapping; empty without a `noise` section. */
  noise: NoiseRule[];
  storm: StormRule[];
  /** What start-up logs and goes on with (a hold Azure's resolve timing defeats), located like problems. */
  warnings: LocatedProblem[];
}

/** What the preview check needs of a connector the environment configures: its kind and the settings that choose its fields (ServiceNow's mode); no URL or secret. */
export interface ConnectorShape {
  readonly kind: string;
  readonly [setting: string]: unknown;
}

/** No rules: admit everything, send it to every connector, hold nothing (the behaviour before rules). */
export function noRoutingRules(environment: readonly ConnectorConfig[]): RoutingRules {
  return { admission: null, connectors: environmentConnectors(environment), routes: null, maintenance: [], noise: [], storm: [], warnings: [] };
}

/** Whether the rules decide anything (false: every alert admitted, to every connector, never held). */
export function rulesInEffect(rules: RoutingRules): boolean {
  return rules.admission !== null || rules.routes !== null || rules.maintenance.length > 0 || rules.noise.length > 0 || rules.storm.length > 0;
}

/** Parses, shape-checks and compiles rules text; every problem located in the text. */
export function compileRulesText(text: string, environment: readonly ConnectorShape[], readSecret: SecretReader): { rules: CompiledRules | null; problems: LocatedProblem[]; warnings: LocatedProblem[] } {
  const { parsed, problems } = parseRules(text);
  if (!parsed) return { rules: null, problems, warnings: [] };
  const value = parsed.value ?? {};
  const shape = shapeProblems(value);
  // Ajv paths cannot tell a list index from a key that looks like a number: compare as text.
  const prefix = (a: readonly unknown[], b: readonly unknown[]) => a.length <= b.length && a.every((part, i) => String(b[i]) === String(part));
  const broken = (path: readonly (string | number)[]) => shape.some((p) => prefix(p.path, path) || prefix(path, p.path));
  const named = environmentConnectors(environment);
  const compiled = compileRules(value as RulesDocument, { environment: named.map((c) => ({ name: c.name, profile: profileOf(c.config)! })), readSecret, broken });
  const byPlace = (a: LocatedProblem, b: LocatedProblem) => a.line - b.line || a.column - b.column;
  const all = [...shape, ...compiled.problems].map(parsed.locate).sort(byPlace);
  const warnings = compiled.warnings.map(parsed.locate).sort(byPlace);
  if (all.length > 0) return { rules: null, problems: all, warnings };
  return { rules: compiled.rules, problems: [], warnings };
}

/**
 * Parses and checks rules text. `variable` names where it came from in the error;
 * `environment` is what connectorsFromEnv read from today's variables.
 */
export function parseRoutingRules(text: string, options: { variable: string; environment: readonly ConnectorConfig[]; readSecret: SecretReader }): RoutingRules {
  const { rules, problems, warnings } = compileRulesText(text, options.environment, options.readSecret);
  if (!rules) throw new RoutingRulesError(options.variable, problems);
  return { ...rules, connectors: [...environmentConnectors(options.environment), ...rules.connectors], warnings };
}

/** The rules text from ROUTING_RULES or ROUTING_RULES_FILE, and which of them gave it; null when neither is set. Throws ConfigError. */
function rulesText(env: Env): { text: string; variable: string } | null {
  const inline = env[ROUTING_RULES]?.trim();
  const file = env[ROUTING_RULES_FILE]?.trim();
  if (inline && file) throw new ConfigError(ROUTING_RULES_FILE, `and ${ROUTING_RULES} are both set: give the rules one way`);
  if (inline) return { text: inline, variable: ROUTING_RULES };
  if (!file) return null;
  try {
    return { text: readFileSync(file, "utf8"), variable: ROUTING_RULES_FILE };
  } catch (error) {
    throw new ConfigError(ROUTING_RULES_FILE, `names a file that cannot be read: ${(error as Error).message}`);
  }
}

/** The rules from the environment, or noRoutingRules when neither variable is set. Throws ConfigError. */
export function loadRoutingRules(env: Env, environment: readonly ConnectorConfig[] = connectorsFromEnv(env)): RoutingRules {
  const source = rulesText(env);
  if (!source) return noRoutingRules(environment);
  return parseRoutingRules(source.text, { variable: source.variable, environment, readSecret: secretReader(env) });
}

/** The environment variables the rules name for connector secrets (`passwordEnv`, `clientSecretEnv`): they are the user's, whatever their prefix. */
export function rulesSecretVariables(env: Env): string[] {
  let source: ReturnType<typeof rulesText>;
  try {
    source = rulesText(env);
  } catch {
    return [];
  }
  const { parsed } = source ? parseRules(source.text) : { parsed: null };
  const connectors = (parsed?.value as { connectors?: unknown } | null | undefined)?.connectors;
  if (!connectors || typeof connectors !== "object") return [];
  return Object.values(connectors as Record<string, { auth?: unknown }>).flatMap((spec) =>
    spec && typeof spec.auth === "object" && spec.auth ? secretReferences(spec.auth as AuthSpec).filter((r) => r.key.endsWith("Env")).map((r) => r.value) : [],
  );
}
