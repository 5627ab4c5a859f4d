/**
 * Matchers: which alerts a rule, route or maintenance window applies to, and why. Pure.
 *
 * Semantics, the same everywhere a `match` appears:
 * - A matcher with no fields (or no `match` at all) matches every alert.
 * - Fields mean "all of": every field named must be satisfied.
 * - A list means "any of": one entry matching is enough.
 * - Ids and names compare ignoring case; `*` and `?` are wildcards (glob.ts) in subscriptions,
 *   resourceGroups, resourceTypes, alertRules, monitoringServices and custom property values.
 * - Resource fields (subscriptions, resourceGroups, resourceTypes) are read from the alert's
 *   resources (subject.ts: its targets, else its rule's scope, else its own id) and are checked
 *   together, resource by resource: the matcher is satisfied when at least ONE resource satisfies
 *   every resource field it names. So `subscriptions: [A]` + `resourceGroups: [rg-1]` matches an
 *   alert on A/rg-1, and not one whose targets are A/rg-2 and B/rg-1.
 * - `alertRules` entries starting with `/` are ARM ids compared with essentials.alertRuleID (not
 *   every payload carries one); other entries are names compared with essentials.alertRule.
 * - `severities` may list `none` for alerts without a severity (budget alerts).
 * - `customProperties` maps a key (its case ignored) to a value pattern or a list of them; a key
 *   the alert does not carry never matches.
 */
import { SEVERITIES, MONITOR_CONDITIONS } from "../alerts/schema.ts";
import { compileGlob, globProblem, type Glob } from "./glob.ts";
import { problem, type Problem, type RulesPath } from "./problems.ts";
import type { RoutingResource, RoutingSubject } from "./subject.ts";

export const MATCH_SEVERITIES = [...SEVERITIES, "none"] as const;
export const MATCH_MONITOR_CONDITIONS = MONITOR_CONDITIONS;
/** Azure documents these signal types; `ActivityLog` is the other spelling some services send. */
export const MATCH_SIGNAL_TYPES = ["Metric", "Log", "Activity Log", "ActivityLog"] as const;

/** A `match` as written in the rules (shape checked by rules-schema.ts). */
export interface MatchSpec {
  subscriptions?: string[];
  resourceGroups?: string[];
  resourceTypes?: string[];
  alertRules?: string[];
  severities?: string[];
  monitoringServices?: string[];
  signalTypes?: string[];
  monitorConditions?: string[];
  customProperties?: Record<string, unknown>;
}

export type MatchOutcome = { matched: true; reasons: string[] } | { matched: false; reason: string };

export interface Matcher {
  /** True when the matcher names no field: it matches every alert. */
  readonly matchesAll: boolean;
  test(subject: RoutingSubject): MatchOutcome;
}

/**
 * One field of a match. `ok` runs for every alert against every rule of the intake, so it makes no
 * words; `reason` says why the alert does or does not satisfy it, only when an explanation is read.
 */
interface Check {
  ok(subject: RoutingSubject): boolean;
  reason(subject: RoutingSubject): string;
}

interface ResourceField {
  label: string;
  globs: Glob[];
  read(resource: RoutingResource): string | null;
}

function quoted(values: readonly string[]): string {
  const list = values.map((v) => JSON.stringify(v));
  return list.length === 1 ? list[0]! : `one of ${list.join(", ")}`;
}

function patterns(globs: readonly Glob[]): string {
  return quoted(globs.map((g) => g.pattern));
}

const SOURCE_NOTE: Record<RoutingResource["from"], string> = {
  target: "",
  "alert-rule": " (from the alert rule's scope: the alert names no target)",
  "alert-id": " (from the alert's id: the alert names neither a target nor its rule)",
};

function resourceCheck(fields: readonly ResourceField[]): Check {
  const satisfies = (field: ResourceField, resource: RoutingResource) => {
    const value = field.read(resource);
    return value === null ? undefined : field.globs.find((g) => g.test(value));
  };
  return {
    ok: (subject) => subject.resources.some((resource) => fields.every((field) => satisfies(field, resource) !== undefined)),
    reason(subject) {
      for (const resource of subject.resources) {
        const hits = fields.map((field) => {
          const glob = satisfies(field, resource);
          return glob ? `${field.label} ${field.read(resource)} matches ${JSON.stringify(glob.pattern)}${SOURCE_NOTE[resource.from]}` : null;
        });
        if (hits.every((hit) => hit !== null)) return hits.join(", ");
      }
      const wanted = fields.map((f) => `${f.label} ${patterns(f.globs)}`).join(" and ");
      const only = subject.resources.length === 1 ? subject.resources[0] : undefined;
      if (subject.resources.length === 0) return `the alert names no resource, so it has no ${wanted}`;
      if (only) {
        const field = fields.find((f) => satisfies(f, only) === undefined)!;
        const value = field.read(only);
        return value === null
          ? `the alert's resource ${only.resourceId ?? `in subscription ${only.subscription}`} has no ${field.label}${SOURCE_NOTE[only.from]}`
          : `${field.label} ${value} is not ${patterns(field.globs)}${SOURCE_NOTE[only.from]}`;
      }
      return `none of the alert's ${subject.resources.length} resources has ${wanted}`;
    },
  };
}

function alertRuleCheck(globs: readonly Glob[]): Check {
  const byId = globs.filter((g) => g.pattern.startsWith("/"));
  const valueOf = (glob: Glob, subject: RoutingSubject) => (glob.pattern.startsWith("/") ? subject.alertRuleId : subject.alertRule);
  const hit = (subject: RoutingSubject) =>
    globs.find((glob) => {
      const value = valueOf(glob, subject);
      return value !== null && glob.test(value);
    });
  return {
    ok: (subject) => hit(subject) !== undefined,
    reason(subject) {
      const glob = hit(subject);
      if (glob) return `alert rule ${JSON.stringify(valueOf(glob, subject))} matches ${JSON.stringify(glob.pattern)}`;
      const missingId = byId.length > 0 && subject.alertRuleId === null ? " (this alert carries no alertRuleID to compare the ARM ids with)" : "";
      return `alert rule ${subject.alertRule === null ? "(none)" : JSON.stringify(subject.alertRule)} is not ${patterns(globs)}${missingId}`;
    },
  };
}

function valueCheck(label: string, globs: readonly Glob[], read: (s: RoutingSubject) => string | null): Check {
  const hit = (value: string | null) => (value === null ? undefined : globs.find((g) => g.test(value)));
  return {
    ok: (subject) => hit(read(subject)) !== undefined,
    reason(subject) {
      const value = read(subject);
      const glob = hit(value);
      if (glob) return `${label} ${JSON.stringify(value)} matches ${JSON.stringify(glob.pattern)}`;
      return `${label} ${value === null ? "(none)" : JSON.stringify(value)} is not ${patterns(globs)}`;
    },
  };
}

function customPropertyCheck(key: string, globs: readonly Glob[]): Check {
  const entryOf = (subject: RoutingSubject) => subject.customProperties.get(key.toLowerCase());
  const hit = (value: string) => globs.find((g) => g.test(value));
  return {
    ok(subject) {
      const entry = entryOf(subject);
      return entry !== undefined && hit(entry.value) !== undefined;
    },
    reason(subject) {
      const entry = entryOf(subject);
      if (!entry) return `custom property ${JSON.stringify(key)} is not set on the alert`;
      const glob = hit(entry.value);
      if (glob) return `custom property ${JSON.stringify(entry.key)} = ${JSON.stringify(entry.value)} matches ${JSON.stringify(glob.pattern)}`;
      return `custom property ${JSON.stringify(entry.key)} = ${JSON.stringify(entry.value)} is not ${patterns(globs)}`;
    },
  };
}

const SUBSCRIPTION_PATTERN = /^[0-9a-f*?-]+$/i;
const RESOURCE_TYPE_PATTERN = /^[^/\s]+\/\S+$/;

/** Per-field checks beyond the glob syntax: catch what would silently never match. */
const FIELD_RULES: Record<string, (pattern: string) => string | null> = {
  subscriptions: (p) =>
    SUBSCRIPTION_PATTERN.test(p) ? null : `must be a subscription id (a GUID, wildcards allowed), got ${JSON.stringify(p)}: alerts carry subscription ids, not names`,
  resourceGroups: (p) =>
    p.includes("/") ? `must be a resource group name, got ${JSON.stringify(p)}; to pin its subscription, add subscriptions to the same match` : null,
  resourceTypes: (p) =>
    p === "*" || RESOURCE_TYPE_PATTERN.test(p) ? null : `must be a resource type such as Microsoft.Compute/virtualMachines, got ${JSON.stringify(p)}`,
  alertRules: (p) =>
    p.startsWith("/") && !/^\/subscriptions\//i.test(p)
      ? `must be an alert rule name or its ARM id (/subscriptions/…/providers/microsoft.insights/…), got ${JSON.stringify(p)}`
      : null,
  monitoringServices: () => null,
  customProperties: () => null,
};

function compileGlobs(field: keyof typeof FIELD_RULES, values: readonly string[], path: RulesPath, problems: Problem[]): Glob[] {
  values.forEach((value, index) => {
    const issue = globProblem(value) ?? FIELD_RULES[field]!(value);
    if (issue) problems.push(problem("invalid_glob", [...path, index], issue));
  });
  return values.map(compileGlob);
}

function customValues(value: unknown, path: RulesPath, problems: Problem[]): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) {
    problems.push(problem("empty", path, "must name a value or a list of values"));
    return [];
  }
  const result: string[] = [];
  list.forEach((item, index) => {
    const at = Array.isArray(value) ? [...path, index] : path;
    if (typeof item === "string") result.push(item);
    else if (typeof item === "number" || typeof item === "boolean") result.push(String(item));
    else problems.push(problem("wrong_type", at, "must be text (or a list of texts)"));
  });
  return result;
}

/**
 * Outcomes whose words are made when read: the intake tests every noise entry, storm guard and
 * silence against each alert, and keeps few of their reasons. Classes, so that the getter is the
 * prototype's and an outcome is one small object.
 */
class Miss {
  readonly matched = false;
  private readonly check: Check;
  private readonly subject: RoutingSubject;
  constructor(check: Check, subject: RoutingSubject) {
    this.check = check;
    this.subject = subject;
  }
  get reason(): string {
    return this.check.reason(this.subject);
  }
}

class Hit {
  readonly matched = true;
  private readonly checks: readonly Check[];
  private readonly subject: RoutingSubject;
  constructor(checks: readonly Check[], subject: RoutingSubject) {
    this.checks = checks;
    this.subject = subject;
  }
  get reasons(): string[] {
    return this.checks.map((check) => check.reason(this.subject));
  }
}

/** Compiles a `match` found at `path`; problems are added to `problems`. */
export function compileMatcher(spec: MatchSpec | undefined, path: RulesPath, problems: Problem[]): Matcher {
  const checks: Check[] = [];
  const s = spec ?? {};
  const resourceFields: ResourceField[] = [];
  if (s.subscriptions) {
    resourceFields.push({ label: "subscription", globs: compileGlobs("subscriptions", s.subscriptions, [...path, "subscriptions"], problems), read: (r) => r.subscription });
  }
  if (s.resourceGroups) {
    resourceFields.push({ label: "resource group", globs: compileGlobs("resourceGroups", s.resourceGroups, [...path, "resourceGroups"], problems), read: (r) => r.resourceGroup });
  }
  if (s.resourceTypes) {
    resourceFields.push({ label: "resource type", globs: compileGlobs("resourceTypes", s.resourceTypes, [...path, "resourceTypes"], problems), read: (r) => r.resourceType });
  }
  if (resourceFields.length > 0) checks.push(resourceCheck(resourceFields));
  if (s.alertRules) checks.push(alertRuleCheck(compileGlobs("alertRules", s.alertRules, [...path, "alertRules"], problems)));
  if (s.severities) {
    const severities = s.severities;
    const severityOf = (subject: RoutingSubject) => subject.severity ?? "none";
    checks.push({
      ok: (subject) => severities.includes(severityOf(subject)),
      reason: (subject) => `severity ${severityOf(subject)} is ${severities.includes(severityOf(subject)) ? "" : "not "}${quoted(severities)}`,
    });
  }
  if (s.monitoringServices) {
    checks.push(valueCheck("monitoring service", compileGlobs("monitoringServices", s.monitoringServices, [...path, "monitoringServices"], problems), (x) => x.monitoringService));
  }
  if (s.signalTypes) {
    // normalise.ts folds "ActivityLog" into "Activity Log"; fold the rule's spelling the same way.
    const folded = [...new Set(s.signalTypes.map((t) => (t === "ActivityLog" ? "Activity Log" : t)))];
    checks.push(valueCheck("signal type", folded.map(compileGlob), (x) => x.signalType));
  }
  if (s.monitorConditions) {
    checks.push(valueCheck("monitor condition", s.monitorConditions.map(compileGlob), (x) => x.monitorCondition));
  }
  for (const [key, value] of Object.entries(s.customProperties ?? {})) {
    const at = [...path, "customProperties", key];
    const values = customValues(value, at, problems);
    const globs = values.map((v, index) => {
      const issue = globProblem(v);
      if (issue) problems.push(problem("invalid_glob", Array.isArray(value) ? [...at, index] : at, issue));
      return compileGlob(v);
    });
    checks.push(customPropertyCheck(key, globs));
  }

  return {
    matchesAll: checks.length === 0,
    test(subject) {
      if (checks.length === 0) return { matched: true, reasons: ["it has no match fields, so every alert matches"] };
      for (const check of checks) if (!check.ok(subject)) return new Miss(check, subject);
      return new Hit(checks, subject);
    },
  };
}
