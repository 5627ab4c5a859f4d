/**
 * Turns a rules document into what the deciders use: compiled matchers, built connectors, checked
 * `set` fields, scheduled windows. Checks everything that depends on more than one field or on
 * more than the shape (globs, cron, time zones, connector names), skipping the parts whose shape
 * is already reported wrong, and collects every problem. Pure apart from the SecretReader given.
 */
import { checkSetValue } from "../connectors/fields.ts";
import { settingVariable, type FieldProfile } from "../connectors/kind.ts";
import { CONNECTOR_KINDS, profileOf } from "../connectors/kinds.ts";
import type { AdmissionPolicy } from "./admission.ts";
import type { SecretReader } from "../connectors/credentials.ts";
import { buildConnector, type ConnectorSpec, type NamedConnector } from "./connectors.ts";
import { compileWindow, type MaintenanceWindow } from "./maintenance.ts";
import { compileMatcher } from "./match.ts";
import { compileNoise, compileStorms, type NoiseRule, type NoiseSpec, type StormRule, type StormSpec } from "./noise.ts";
import { formatPath, problem, type Problem } from "./problems.ts";
import type { Route } from "./routes.ts";
import { NAME_PATTERN, type RulesDocument } from "./rules-schema.ts";

export interface CompiledRules {
  admission: AdmissionPolicy | null;
  /** The connectors the document declares (not those today's variables configure). */
  connectors: NamedConnector[];
  /** Null when the document has no `routes`: every connector gets every incident. */
  routes: Route[] | null;
  maintenance: MaintenanceWindow[];
  noise: NoiseRule[];
  storm: StormRule[];
}

export interface CompileContext {
  /** Connectors today's variables configure, by the names routes use for them. */
  environment: readonly { name: string; profile: FieldProfile }[];
  readSecret: SecretReader;
  /**
   * Whether the shape check found a problem at, under or above a path. Such parts are skipped
   * (their problems are already reported) while the rest is still checked, so one run reports
   * everything, and nothing here ever reads a value of the wrong type.
   */
  broken(path: readonly (string | number)[]): boolean;
}

/** The variables that turn each tool's environment-configured connector on. */
const URL_VARIABLES = CONNECTOR_KINDS.map((kind) => settingVariable(kind, "url"));

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function uniqueNames(items: readonly unknown[], section: readonly string[], problems: Problem[]): void {
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    if (!isObject(item) || typeof item.name !== "string") return;
    const first = seen.get(item.name.toLowerCase());
    if (first === undefined) seen.set(item.name.toLowerCase(), index);
    else problems.push(problem("duplicate_name", [...section, index, "name"], `repeats ${JSON.stringify(item.name)}, already the name of ${formatPath([...section, first])}: names must be unique (ignoring case)`));
  });
}

function compileConnectors(doc: RulesDocument, context: CompileContext, problems: Problem[]): { built: NamedConnector[]; profiles: Map<string, FieldProfile | null> } {
  const profiles = new Map<string, FieldProfile | null>(context.environment.map((c) => [c.name, c.profile]));
  const built: NamedConnector[] = [];
  if (!isObject(doc.connectors)) return { built, profiles };
  const lowerCase = new Map<string, string>();
  for (const [name, spec] of Object.entries(doc.connectors)) {
    const path = ["connectors", name];
    const same = lowerCase.get(name.toLowerCase());
    if (same !== undefined) {
      problems.push(problem("duplicate_name", path, `and ${JSON.stringify(same)} differ only in case: connector names must be unique (ignoring case)`));
      continue;
    }
    lowerCase.set(name.toLowerCase(), name);
    if (!new RegExp(NAME_PATTERN).test(name)) {
      problems.push(problem("invalid_value", path, "is not a usable connector name: use up to 63 letters, digits, '.', '_' or '-', starting with a letter or digit"));
      continue;
    }
    if (profiles.has(name)) {
      problems.push(problem("duplicate_name", path, `is the name of the connector today's variables (${URL_VARIABLES.join(", ")}) configure: choose another name, or configure that connector here and unset the variables`));
      continue;
    }
    // Known even when it cannot be built, so routes naming it get no second, misleading error;
    // with a broken kind or mode its profile is unknown and routes' `set` is not checked against it.
    profiles.set(name, context.broken([...path, "kind"]) || context.broken([...path, "mode"]) ? null : (profileOf(spec) ?? null));
    if (context.broken(path)) continue;
    const connector = buildConnector(name, spec as ConnectorSpec, path, context.readSecret, problems);
    if (connector) built.push(connector);
  }
  return { built, profiles };
}

function compileRoutes(doc: RulesDocument, profiles: ReadonlyMap<string, FieldProfile | null>, context: CompileContext, problems: Problem[]): Route[] | null {
  if (doc.routes === undefined) return null;
  if (!Array.isArray(doc.routes)) return [];
  if (doc.routes.length === 0) {
    problems.push(problem("empty", ["routes"], "is an empty list, which would send nothing anywhere: remove it to send every incident to every connector, or add routes"));
    return [];
  }
  uniqueNames(doc.routes, ["routes"], problems);
  const known = [...profiles.keys()];
  return doc.routes.flatMap((spec, index) => {
    const path = ["routes", index];
    if (context.broken(path)) return [];
    const matcher = compileMatcher(spec.match, [...path, "match"], problems);
    spec.to.forEach((name, i) => {
      if (!profiles.has(name)) {
        problems.push(problem("unknown_connector", [...path, "to", i], `names no connector ${JSON.stringify(name)}; known connectors: ${known.length ? known.join(", ") : `none (declare them under connectors, or set ${URL_VARIABLES.join(" / ")})`}`));
      } else if (spec.to.indexOf(name) !== i) {
        problems.push(problem("invalid_value", [...path, "to", i], `repeats ${JSON.stringify(name)}`));
      }
    });
    const sets = new Map<string, Record<string, string>>();
    const reported = new Set<string>();
    for (const name of new Set(spec.to)) {
      const profile = profiles.get(name);
      if (!profile) continue;
      const set: Record<string, string> = {};
      for (const [key, value] of Object.entries(spec.set ?? {})) {
        const checked = checkSetValue(profile, key, value);
        if ("value" in checked) set[key] = checked.value;
        else if (!reported.has(`${profile.id}/${key}`)) {
          reported.add(`${profile.id}/${key}`);
          const mixed = new Set(spec.to.map((n) => profiles.get(n)).filter(Boolean)).size > 1;
          const where = mixed ? ` (route sends to ${profile.label} connector ${JSON.stringify(name)}; split it into routes per kind with continue: true)` : "";
          problems.push(problem("invalid_value", [...path, "set", key], `${checked.error}${where}`));
        }
      }
      sets.set(name, set);
    }
    return [{ name: spec.name, matcher, to: [...spec.to], set: { ...(spec.set ?? {}) } as Record<string, string | number>, sets, continue: spec.continue ?? false, onRefireAfterClose: spec.onRefireAfterClose ?? "new" }];
  });
}

function compileAdmission(doc: RulesDocument, context: CompileContext, problems: Problem[]): AdmissionPolicy | null {
  if (!isObject(doc.admission)) return null;
  const rules = Array.isArray(doc.admission.rules) ? doc.admission.rules : [];
  uniqueNames(rules, ["admission", "rules"], problems);
  const allSame = rules.every((r, index) => !context.broken(["admission", "rules", index, "action"]) && r.action === doc.admission!.default);
  if (rules.length > 0 && !context.broken(["admission", "default"]) && allSame) {
    const verb = doc.admission.default === "admit" ? "admit" : "reject";
    problems.push(
      problem("invalid_value", ["admission", "default"], `is ${JSON.stringify(doc.admission.default)} and every rule also says ${verb}, so the rules change nothing; for an allow-list, set default: ${verb === "admit" ? "reject" : "admit"}`),
    );
  }
  return {
    default: doc.admission.default,
    rules: rules.flatMap((rule, index) =>
      context.broken(["admission", "rules", index]) ? [] : [{ name: rule.name, action: rule.action, matcher: compileMatcher(rule.match, ["admission", "rules", index, "match"], problems) }],
    ),
  };
}

function compileMaintenance(doc: RulesDocument, context: CompileContext, problems: Problem[]): MaintenanceWindow[] {
  const specs = Array.isArray(doc.maintenance) ? doc.maintenance : [];
  uniqueNames(specs, ["maintenance"], problems);
  return specs.flatMap((spec, index) => (context.broken(["maintenance", index]) ? [] : (compileWindow(spec, ["maintenance", index], problems) ?? [])));
}

function compileNoiseSections(doc: RulesDocument, context: CompileContext, problems: Problem[], warnings: Problem[]): { noise: NoiseRule[]; storm: StormRule[] } {
  const noise = Array.isArray(doc.noise) ? (doc.noise as NoiseSpec[]) : [];
  const storm = Array.isArray(doc.storm) ? (doc.storm as StormSpec[]) : [];
  uniqueNames(noise, ["noise"], problems);
  uniqueNames(storm, ["storm"], problems);
  return { noise: compileNoise(noise, context.broken, problems, warnings), storm: compileStorms(storm, context.broken, problems) };
}

/** `warnings`: the rules work, but probably not as meant (a hold Azure's resolve timing defeats); start-up and the preview show them and go on. */
export function compileRules(doc: RulesDocument, context: CompileContext): { rules: CompiledRules; problems: Problem[]; warnings: Problem[] } {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const admission = compileAdmission(doc, context, problems);
  const { built, profiles } = compileConnectors(doc, context, problems);
  const routes = compileRoutes(doc, profiles, context, problems);
  const maintenance = compileMaintenance(doc, context, problems);
  const { noise, storm } = compileNoiseSections(doc, context, problems, warnings);
  return { rules: { admission, connectors: built, routes, maintenance, noise, storm }, problems, warnings };
}
