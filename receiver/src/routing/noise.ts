/**
 * Noise rules (docs/noise.md): which `noise` entry and which `storm` guard apply to an alert, its
 * group key, and how long it is held — checked at start-up and at `pulumi preview`, decided per
 * alert. Pure: the instant is a parameter, never the clock. What the decisions then do to
 * incidents and tickets is incidents/noise.ts's (the state machine) and ledger/'s (the effects).
 *
 * The first matching `noise` entry applies, and separately the first matching `storm` guard.
 *
 * Azure's own resolve timing bounds a hold (MicrosoftDocs/azure-monitor-docs,
 * articles/azure-monitor/alerts/alerts-overview.md, "Alerts and state", ms.date 05/08/2025,
 * https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-overview#alerts-and-state):
 * - a metric alert "is resolved when the alert condition isn't met for three consecutive checks";
 *   at the shortest frequency a metric rule has (1 minute) Resolved comes 3 minutes after the
 *   condition cleared at the soonest;
 * - a log search alert at a 1-minute frequency resolves when "the alert condition isn't met for
 *   10 minutes" (2-3 frequency periods at longer frequencies, so never sooner);
 * - "All activity log alerts are stateless": their condition "is always `fired`", so Azure never
 *   resolves them and a hold can only delay their ticket (unless INCIDENT_QUIET_PERIODS resolves
 *   them first).
 * A hold shorter than that can never see a resolve, so it only delays the ticket: a warning says so.
 */
import { createHash } from "node:crypto";
import { familyOfService, KNOWN_MONITORING_SERVICES } from "../alerts/normalise.ts";
import { compileGlob } from "./glob.ts";
import { parseDuration } from "./maintenance.ts";
import { compileMatcher, type Matcher, type MatchSpec } from "./match.ts";
import { problem, type Problem, type RulesPath } from "./problems.ts";
import type { RoutingSubject } from "./subject.ts";

/** Alertmanager's defaults (group_wait 30s, group_interval 5m): what users of the peers expect. */
export const DEFAULT_GROUP_WAIT_MS = 30_000;
export const DEFAULT_GROUP_INTERVAL_MS = 300_000;
const MINUTE = 60_000;
/** Soonest Azure sends Resolved after a condition clears (alerts-overview.md, above). */
export const AZURE_SOONEST_RESOLVE_MS = { metric: 3 * MINUTE, log: 10 * MINUTE } as const;

const DAY = 24 * 60 * MINUTE;
const LIMITS = {
  groupWait: { min: 0, max: 60 * MINUTE },
  groupInterval: { min: 1000, max: DAY },
  holdFor: { min: 1000, max: DAY },
  within: { min: 1000, max: DAY },
  quietFor: { min: 1000, max: DAY },
  per: { min: 1000, max: DAY },
} as const;

/** What a flapping entry without groupBy groups by: one rule on one resource, the series Azure gives a new alertId each time it fires. */
export const SERIES: readonly GroupByField[] = ["alertRule", "resource"];

/** What `groupBy` may name: the alert's fields as the matchers read them, and `customProperties.<key>`. */
export const GROUP_BY_FIELDS = ["alertRule", "subscription", "resourceGroup", "resourceType", "resource", "severity", "monitoringService", "signalType"] as const;
type GroupByField = (typeof GROUP_BY_FIELDS)[number] | `customProperties.${string}`;

export type ResolveWhen = "all" | "first" | "never";

export interface FlappingRule {
  changes: number;
  withinMs: number;
  quietForMs: number;
}

export interface NoiseRule {
  name: string;
  matcher: Matcher;
  /** Null: no grouping (each alert its own ticket); []: one group per match; SERIES for flapping without groupBy. */
  groupBy: GroupByField[] | null;
  groupWaitMs: number;
  groupIntervalMs: number;
  holdForMs: number | null;
  resolveWhen: ResolveWhen;
  flapping: FlappingRule | null;
}

export interface StormRule {
  name: string;
  matcher: Matcher;
  maxNewTickets: number;
  perMs: number;
  groupIntervalMs: number;
}

/** A `noise` entry as written (shape checked by rules-schema.ts). */
export interface NoiseSpec {
  name: string;
  match?: MatchSpec;
  groupBy?: string[];
  groupWait?: string;
  groupInterval?: string;
  holdFor?: string;
  resolveWhen?: ResolveWhen;
  flapping?: { changes: number; within: string; quietFor?: string };
}

export interface StormSpec {
  name: string;
  match?: MatchSpec;
  maxNewTickets: number;
  per: string;
  groupInterval?: string;
}

/** What the noise rules decide for one alert; plain JSON, stored with the incident's routing. */
export interface NoiseDecision {
  /** The noise entry that applies, or null. */
  rule: string | null;
  groupBy: string[] | null;
  /** `alertRule=…, subscription=…`: the values the alert is grouped by; null without grouping. */
  groupKey: string | null;
  /** The group's identity in the ledger: rule, key and the connectors its ticket goes to. */
  groupId: string | null;
  groupWaitMs: number;
  groupIntervalMs: number;
  resolveWhen: ResolveWhen;
  holdForMs: number | null;
  /** firedAt + holdFor: no ticket before then (ISO 8601 UTC), or null. */
  holdUntil: string | null;
  flapping: FlappingRule | null;
  storm: { name: string; maxNewTickets: number; perMs: number; groupIntervalMs: number } | null;
}

function formatMs(ms: number): string {
  if (ms === 0) return "0s";
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  return parts.join("") || `${ms}ms`;
}

export { formatMs as formatDuration };

/** A duration field: 30s, 5m, 1h30m or PT5M; `0`/`0s` where zero means "at once". */
function duration(value: string | undefined, fallback: number | null, path: RulesPath, limits: { min: number; max: number }, problems: Problem[]): number | null {
  if (value === undefined) return fallback;
  const zero = /^(0+[smhd]?|PT0+[SMH])$/i.test(value.trim());
  const ms = zero ? 0 : parseDuration(value);
  if (ms === null) {
    problems.push(problem("invalid_duration", path, `must be a duration such as 30s, 5m, 1h30m or PT5M, got ${JSON.stringify(value)}`));
    return fallback;
  }
  if (ms < limits.min || ms > limits.max) {
    problems.push(problem("invalid_duration", path, `must be between ${formatMs(limits.min)} and ${formatMs(limits.max)}, got ${JSON.stringify(value)}`));
    return fallback;
  }
  return ms;
}

function groupByFields(values: readonly string[], path: RulesPath, problems: Problem[]): GroupByField[] {
  const fields: GroupByField[] = [];
  values.forEach((value, index) => {
    const custom = /^customProperties\.(.+)$/.exec(value);
    if ((GROUP_BY_FIELDS as readonly string[]).includes(value) || (custom && custom[1]!.trim())) {
      if (fields.includes(value as GroupByField)) problems.push(problem("invalid_value", [...path, index], `repeats ${JSON.stringify(value)}`));
      else fields.push(value as GroupByField);
    } else {
      problems.push(problem("invalid_value", [...path, index], `must be one of ${GROUP_BY_FIELDS.join(", ")} or customProperties.<key>, got ${JSON.stringify(value)}`));
    }
  });
  return fields;
}

/** The families of alerts a match can take in: by its signalTypes, else its monitoringServices, else all. */
function familiesOf(spec: MatchSpec | undefined): Set<"metric" | "log" | "stateless"> {
  const families = new Set<"metric" | "log" | "stateless">();
  if (spec?.signalTypes) {
    for (const t of spec.signalTypes) families.add(t === "Metric" ? "metric" : t === "Log" ? "log" : "stateless");
    return families;
  }
  if (spec?.monitoringServices) {
    const globs = spec.monitoringServices.map(compileGlob);
    for (const service of KNOWN_MONITORING_SERVICES.filter((s) => globs.some((g) => g.test(s)))) {
      families.add(serviceFamily(service));
    }
    return families;
  }
  return new Set(["metric", "log", "stateless"]);
}

/** Which of Azure's resolve timings a known monitoring service follows (normalise.ts knows its family). */
function serviceFamily(service: string): "metric" | "log" | "stateless" {
  const family = familyOfService(service);
  return family === "metric" || family === "prometheus" ? "metric" : family === "log" ? "log" : "stateless";
}

function holdWarnings(spec: NoiseSpec, holdForMs: number, path: RulesPath, warnings: Problem[]): void {
  const families = familiesOf(spec.match);
  const at = [...path, "holdFor"];
  const hold = JSON.stringify(spec.holdFor);
  const short: Array<{ ms: number; why: string }> = [];
  if (families.has("metric") && holdForMs < AZURE_SOONEST_RESOLVE_MS.metric) {
    short.push({ ms: AZURE_SOONEST_RESOLVE_MS.metric, why: `a metric alert resolves only after 3 consecutive clean checks (at least ${formatMs(AZURE_SOONEST_RESOLVE_MS.metric)} at a 1-minute frequency)` });
  }
  if (families.has("log") && holdForMs < AZURE_SOONEST_RESOLVE_MS.log) {
    short.push({ ms: AZURE_SOONEST_RESOLVE_MS.log, why: `a log search alert at a 1-minute frequency resolves only after ${formatMs(AZURE_SOONEST_RESOLVE_MS.log)} without the condition (2-3 periods at longer frequencies)` });
  }
  if (short.length > 0) {
    const least = formatMs(Math.max(...short.map((s) => s.ms)));
    warnings.push(
      problem(
        "hold_shorter_than_azure_resolves",
        at,
        `is ${hold}, shorter than Azure needs to send Resolved: ${short.map((s) => s.why).join("; ")}; such a hold never catches a resolve and only delays the ticket: hold for at least ${least}, or narrow match.signalTypes (docs/noise.md#holds-and-azures-resolve-timing)`,
      ),
    );
  }
  if (families.has("stateless")) {
    warnings.push(problem("hold_on_stateless_alerts", at, `applies to stateless alerts (activity log, service health, resource health, smart detection, budgets) too: Azure never resolves them, so for them ${hold} only delays the ticket (and an incident INCIDENT_QUIET_PERIODS resolves inside the hold never gets one); narrow match.signalTypes to [Metric, Log] to hold only what Azure resolves`));
  }
}

export function compileNoise(specs: readonly NoiseSpec[], broken: (path: RulesPath) => boolean, problems: Problem[], warnings: Problem[]): NoiseRule[] {
  return specs.flatMap((spec, index) => {
    const path: RulesPath = ["noise", index];
    if (broken(path)) return [];
    const matcher = compileMatcher(spec.match, [...path, "match"], problems);
    // Flapping is a series' (each firing of a rule on a resource is a new alertId): without groupBy it groups by rule and resource, at once.
    const groupBy = spec.groupBy === undefined ? (spec.flapping ? [...SERIES] : null) : groupByFields(spec.groupBy, [...path, "groupBy"], problems);
    const groupWaitMs = duration(spec.groupWait, spec.groupBy === undefined && spec.flapping ? 0 : DEFAULT_GROUP_WAIT_MS, [...path, "groupWait"], LIMITS.groupWait, problems)!;
    const groupIntervalMs = duration(spec.groupInterval, DEFAULT_GROUP_INTERVAL_MS, [...path, "groupInterval"], LIMITS.groupInterval, problems)!;
    const holdForMs = duration(spec.holdFor, null, [...path, "holdFor"], LIMITS.holdFor, problems);
    let flapping: FlappingRule | null = null;
    if (spec.flapping) {
      const withinMs = duration(spec.flapping.within, null, [...path, "flapping", "within"], LIMITS.within, problems);
      const quietForMs = duration(spec.flapping.quietFor, withinMs, [...path, "flapping", "quietFor"], LIMITS.quietFor, problems);
      if (withinMs !== null && quietForMs !== null) flapping = { changes: spec.flapping.changes, withinMs, quietForMs };
    }
    if (groupBy === null) {
      for (const key of ["groupWait", "groupInterval", "resolveWhen"] as const) {
        if (spec[key] !== undefined) problems.push(problem("invalid_value", [...path, key], "applies to groups only: add groupBy (a list of fields, or [] for one group per match) or flapping, or remove it"));
      }
    }
    if (groupBy === null && spec.holdFor === undefined && spec.flapping === undefined) {
      problems.push(problem("missing_key", path, "does nothing: give it groupBy, holdFor or flapping"));
    }
    if (holdForMs !== null) holdWarnings(spec, holdForMs, path, warnings);
    return [{ name: spec.name, matcher, groupBy, groupWaitMs, groupIntervalMs, holdForMs, resolveWhen: spec.resolveWhen ?? "all", flapping }];
  });
}

export function compileStorms(specs: readonly StormSpec[], broken: (path: RulesPath) => boolean, problems: Problem[]): StormRule[] {
  return specs.flatMap((spec, index) => {
    const path: RulesPath = ["storm", index];
    if (broken(path)) return [];
    const matcher = compileMatcher(spec.match, [...path, "match"], problems);
    const perMs = duration(spec.per, null, [...path, "per"], LIMITS.per, problems);
    const groupIntervalMs = duration(spec.groupInterval, DEFAULT_GROUP_INTERVAL_MS, [...path, "groupInterval"], LIMITS.groupInterval, problems)!;
    if (perMs === null) return [];
    return [{ name: spec.name, matcher, maxNewTickets: spec.maxNewTickets, perMs, groupIntervalMs }];
  });
}

function valuesOf(field: GroupByField, subject: RoutingSubject): string {
  const resources = (read: (r: RoutingSubject["resources"][number]) => string | null) =>
    [...new Set(subject.resources.map(read).filter((v): v is string => v !== null).map((v) => v.toLowerCase()))].sort().join(",") || "(none)";
  switch (field) {
    case "alertRule":
      // The rule's ARM id when the alert carries one: two rules of one name in two resource groups stay apart.
      return subject.alertRuleId ?? (subject.alertRule === null ? "(none)" : subject.alertRule.toLowerCase());
    case "subscription":
      return resources((r) => r.subscription);
    case "resourceGroup":
      return resources((r) => (r.subscription && r.resourceGroup ? `${r.subscription}/${r.resourceGroup}` : null));
    case "resourceType":
      return resources((r) => r.resourceType);
    case "resource":
      return resources((r) => r.resourceId);
    case "severity":
      return subject.severity ?? "none";
    case "monitoringService":
      return subject.monitoringService;
    case "signalType":
      return subject.signalType ?? "(none)";
    default: {
      const key = field.slice("customProperties.".length);
      return subject.customProperties.get(key.toLowerCase())?.value ?? "(none)";
    }
  }
}

/** `alertRule=…, subscription=…`: the same text for every alert of one group. */
export function groupKeyOf(groupBy: readonly GroupByField[], subject: RoutingSubject): string {
  return groupBy.length === 0 ? "(all matching alerts)" : groupBy.map((field) => `${field}=${valuesOf(field, subject)}`).join(", ");
}

/** Group ids lately computed: a storm's alerts fall into a few groups, and each id is a SHA-256. */
const groupIds = new Map<string, string>();
const GROUP_ID_CACHE = 1000;

/** A group's identity: alerts routed to other tools never share a ticket, and no key is too long to index. */
export function groupIdOf(rule: string, key: string, connectors: readonly string[]): string {
  const identity = JSON.stringify([rule, key, [...connectors].sort()]);
  const known = groupIds.get(identity);
  if (known) return known;
  const id = `group:${createHash("sha256").update(identity).digest("hex")}`;
  if (groupIds.size >= GROUP_ID_CACHE) groupIds.delete(groupIds.keys().next().value!);
  groupIds.set(identity, id);
  return id;
}

export interface NoiseRules {
  noise: readonly NoiseRule[];
  storm: readonly StormRule[];
}

/** The noise decision for an alert routed to `connectors`, with lines for the explanation; null when no entry applies. */
export function decideNoise(rules: NoiseRules, subject: RoutingSubject, firedAt: string, connectors: readonly string[]): { decision: NoiseDecision | null; explanation: string[] } {
  if (rules.noise.length === 0 && rules.storm.length === 0) return { decision: null, explanation: [] };
  const explanation: string[] = [];
  let rule: NoiseRule | null = null;
  let reasons: string[] = [];
  for (const candidate of rules.noise) {
    const outcome = candidate.matcher.test(subject);
    if (outcome.matched) {
      [rule, reasons] = [candidate, outcome.reasons];
      break;
    }
  }
  const storm = rules.storm.find((s) => s.matcher.test(subject).matched) ?? null;
  if (!rule && !storm) {
    explanation.push("noise: no noise entry or storm guard matches: the alert gets its own ticket at once");
    return { decision: null, explanation };
  }
  const groupKey = rule?.groupBy ? groupKeyOf(rule.groupBy, subject) : null;
  const holdUntil = rule?.holdForMs ? new Date(Date.parse(firedAt) + rule.holdForMs).toISOString() : null;
  if (rule) {
    explanation.push(`noise: entry "${rule.name}" applies (${reasons.join("; ")})`);
    if (groupKey !== null) {
      const resolves = rule.resolveWhen === "all" ? "when all members have" : rule.resolveWhen === "first" ? "at the first member's resolve" : "by an operator";
      explanation.push(`noise: group ${groupKey}; ticket after ${formatMs(rule.groupWaitMs)}, updates every ${formatMs(rule.groupIntervalMs)}, resolves ${resolves}`);
    }
    if (holdUntil) explanation.push(`noise: held until ${holdUntil} (firedDateTime + ${formatMs(rule.holdForMs!)}); resolved before then: transient, never sent`);
    if (rule.flapping) {
      const f = rule.flapping;
      explanation.push(`noise: the group reopens on its ticket within ${formatMs(f.withinMs)} of a resolve; ${f.changes} changes within ${formatMs(f.withinMs)}: flapping (told once) until quiet for ${formatMs(f.quietForMs)}`);
    }
  }
  if (storm) explanation.push(`noise: storm guard "${storm.name}": past ${storm.maxNewTickets} new tickets per connector per ${formatMs(storm.perMs)}, one storm incident takes the rest`);
  return {
    decision: {
      rule: rule?.name ?? null,
      groupBy: rule?.groupBy ? [...rule.groupBy] : null,
      groupKey,
      groupId: rule && groupKey !== null ? groupIdOf(rule.name, groupKey, connectors) : null,
      groupWaitMs: rule?.groupWaitMs ?? DEFAULT_GROUP_WAIT_MS,
      groupIntervalMs: rule?.groupIntervalMs ?? DEFAULT_GROUP_INTERVAL_MS,
      resolveWhen: rule?.resolveWhen ?? "all",
      holdForMs: rule?.holdForMs ?? null,
      holdUntil,
      flapping: rule?.flapping ?? null,
      storm: storm ? { name: storm.name, maxNewTickets: storm.maxNewTickets, perMs: storm.perMs, groupIntervalMs: storm.groupIntervalMs } : null,
    },
    explanation,
  };
}
