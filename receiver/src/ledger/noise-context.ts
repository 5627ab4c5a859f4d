/**
 * Locks and reads what noise decisions need, after the alert incidents a command holds: the
 * problems of those alerts and of the groups new alerts would join, the storm counters their
 * guards use (and the storm incidents), in the global lock order (store/noise.ts); the silences in
 * force; the CIs of the problems. Commands that touch no noise pay nothing.
 */
import type { CiBinding } from "../cmdb/bindings.ts";
import type { NoiseHold } from "../incidents/noise.ts";
import type { RoutingExplanation } from "../routing/explain.ts";
import { compileMatcher, type Matcher, type MatchSpec } from "../routing/match.ts";
import { bindingsOf } from "../store/configuration-items.ts";
import type { Queryable } from "../store/database.ts";
import type { StoredIncident } from "../store/incidents.ts";
import { activeSilences, lockNoiseRows, silencesById, stormCounterKey, type LockedStormCounter, type Silence } from "../store/noise.ts";
import type { ProblemTextReads } from "../store/problem-texts.ts";
import type { ActiveSilence, NoiseContext } from "./change-set.ts";

/** What a command's incidents and arrivals may need locked. */
export interface NoiseNeeds {
  /** Alerts whose incidents the command holds or may create: their problems are locked too. */
  alertIds: readonly string[];
  /** Alert incidents the command holds: the group keys and storm guards of their routing. */
  incidents: readonly StoredIncident[];
  /** Routing of arrivals that may open incidents (their group keys and storm guards). */
  routings: ReadonlyArray<RoutingExplanation | null | undefined>;
  /** Whether new incidents may be opened (then the silences in force are read). */
  opensIncidents: boolean;
  /** Whether problems' CIs are read (for their tickets' text: the timer's opens and updates). */
  problemBindings: boolean;
  /** The problems' text this process holds, for a command that locks the same problems again and again (the intake). */
  texts?: ProblemTextReads;
}

/** Compiled matchers of silences, by id and the match they were compiled from (a silence's match never changes). */
const matchers = new Map<string, Matcher>();
const MATCHER_CACHE = 1000;

function matcherOf(silence: Silence): Matcher {
  const known = matchers.get(silence.id);
  if (known) return known;
  // Checked when the silence was added (http/routes/silences.ts): nothing is reported here.
  const matcher = compileMatcher(silence.match as MatchSpec, ["match"], []);
  if (matchers.size >= MATCHER_CACHE) matchers.delete(matchers.keys().next().value!);
  matchers.set(silence.id, matcher);
  return matcher;
}

function wanted(needs: NoiseNeeds, now: Date) {
  const groupKeys: string[] = [];
  const storms: string[] = [];
  let reopenMs = 0;
  const add = (routing: RoutingExplanation | null | undefined) => {
    const noise = routing?.noise;
    if (noise?.groupId) groupKeys.push(noise.groupId);
    if (noise?.flapping) reopenMs = Math.max(reopenMs, noise.flapping.withinMs);
    if (noise?.storm) for (const connector of routing!.connectors) storms.push(stormCounterKey(noise.storm.name, connector));
  };
  needs.routings.forEach(add);
  // A member firing again after its problem resolved is dispatched anew, with the routing it was created with.
  for (const incident of needs.incidents) add(incident.routing);
  return { groupKeys, storms, resolvedSince: reopenMs > 0 ? new Date(now.getTime() - reopenMs).toISOString() : null };
}

/** Whether a context already holds what these incidents need (an incident's problem, its group key, its storm counters). */
export function covers(context: NoiseContext, incidents: readonly StoredIncident[]): boolean {
  return incidents.every((incident) => {
    const noise = incident.routing?.noise;
    const problems = [...(incident.problemId ? [incident.problemId] : []), ...Object.values(incident.noise?.storms ?? {})];
    if (problems.some((id) => !context.problems.has(id))) return false;
    if (noise?.storm && incident.routing!.connectors.some((c) => !context.counters.has(stormCounterKey(noise.storm!.name, c)))) return false;
    return !noise?.groupId || context.lockedGroupKeys.has(noise.groupId);
  });
}

/** Locks and reads the noise context for a command; an empty one (with the silences) when nothing of it applies. */
export async function loadNoiseContext(tx: Queryable, needs: NoiseNeeds, now: Date, into?: NoiseContext): Promise<NoiseContext> {
  const want = wanted(needs, now);
  const touches = want.groupKeys.length + want.storms.length + needs.alertIds.length > 0;
  const [rows, silences] = await Promise.all([
    touches ? lockNoiseRows(tx, { groupKeys: want.groupKeys, resolvedSince: want.resolvedSince, storms: want.storms, alertIds: needs.alertIds }, needs.texts) : Promise.resolve({ problems: [] as StoredIncident[], counters: [] as LockedStormCounter[] }),
    needs.opensIncidents ? activeSilences(tx, now.toISOString()) : Promise.resolve([] as Silence[]),
  ]);
  const problemBindings: Map<string, CiBinding[]> = needs.problemBindings && rows.problems.length ? await bindingsOf(tx, rows.problems.map((p) => p.id)) : new Map();
  const context: NoiseContext = into ?? { silences: [], problems: new Map(), counters: new Map(), problemBindings: new Map(), lockedGroupKeys: new Set() };
  if (needs.opensIncidents) context.silences = silences.map((s): ActiveSilence => ({ id: s.id, matcher: matcherOf(s), until: s.endsAt }));
  for (const p of rows.problems) if (!context.problems.has(p.id)) context.problems.set(p.id, p);
  for (const c of rows.counters) context.counters.set(stormCounterKey(c.storm, c.connector), c);
  for (const [id, b] of problemBindings) context.problemBindings.set(id, b);
  for (const key of want.groupKeys) context.lockedGroupKeys.add(key);
  return context;
}

/**
 * The holds still running on a held incident at `now`, with each silence's current end (an
 * expired silence ends early; a transient hold's end never moves).
 */
export async function remainingHolds(tx: Queryable, incidents: readonly StoredIncident[], now: Date): Promise<Map<string, NoiseHold[]>> {
  const ids = incidents.flatMap((i) => (i.noise?.holds ?? []).flatMap((h) => (h.kind === "silence" ? [h.id] : [])));
  const silences = await silencesById(tx, ids);
  const result = new Map<string, NoiseHold[]>();
  for (const incident of incidents) {
    const holds = (incident.noise?.holds ?? []).map((h): NoiseHold => (h.kind === "silence" ? { ...h, until: silences.get(h.id)?.endsAt ?? now.toISOString() } : h));
    result.set(incident.id, holds.filter((h) => Date.parse(h.until) > now.getTime()));
  }
  return result;
}
