/**
 * The one way an incident change reaches the store. Every command (accepting notifications, an
 * operator's resolve, the quiet-period sweep, the end of a hold, the noise timer) decides with the
 * pure state machines, records each decision here, and writes the set with `writeChanges`: the
 * same rows, the same deliveries (with the incident's CIs, to the connectors its routing chose),
 * whoever made the change.
 *
 * Noise control (docs/noise.md) decides here where a change is told: an alert held (a maintenance
 * window, a silence, a transient hold) tells nothing until released; a dispatched alert tells its
 * own ticket, or its group's, or a storm incident's; a flapping alert tells nothing until quiet.
 * The problems and storm counters it touches must be locked first (`NoiseContext`, loaded by
 * ledger/noise-context.ts in the global lock order).
 */
import { createHash } from "node:crypto";
import { AZURE_ALERTS, azureActionsFor } from "../azure/alerts.ts";
import type { CiBinding } from "../cmdb/bindings.ts";
import { actionsFor, snapshotOf, type DeliveryAction } from "../outbox/delivery.ts";
import type { Decision, IncidentEvent } from "../incidents/lifecycle.ts";
import {
  isQuiet,
  joinProblem,
  memberChanged,
  openProblem,
  problemDue,
  problemDueAt,
  QUIET_ALERT,
  reopenProblem,
  stormAdmit,
  type AlertNoise,
  type NoiseHold,
  type ProblemDecision,
} from "../incidents/noise.ts";
import { summariseEvent } from "../incidents/timeline-text.ts";
import type { RoutingExplanation } from "../routing/explain.ts";
import type { Matcher } from "../routing/match.ts";
import type { NoiseDecision } from "../routing/noise.ts";
import { routingSubject } from "../routing/subject.ts";
import type { NormalisedAlert } from "../alerts/normalise.ts";
import type { IncidentBinding } from "../store/configuration-items.ts";
import type { Transaction } from "../store/database.ts";
import { deliveriesHeldUntil, PLAIN, sameProblemText, type StoredIncident } from "../store/incidents.ts";
import { newIncidentId } from "../store/keys.ts";
import { writeLedger } from "../store/ledger-writes.ts";
import { stormCounterKey, writeStormCounters, type LockedStormCounter } from "../store/noise.ts";
import type { NewDelivery } from "../store/outbox.ts";

/** Where incident changes go when no routing says otherwise, and how long each delivery is retried. */
export interface DeliveryTargets {
  /** Every configured connector: an incident created without routing rules goes to all of them. */
  connectors: readonly string[];
  maxAgeMs: number;
  /**
   * AZURE_ALERT_SYNC: an incident resolved (or acknowledged) by any path but Azure's own changes
   * its Azure alert's state too, through the outbox (azure/alerts.ts).
   */
  alertSync?: boolean;
}

/** The events whose words a ticket (a work note) and the Azure alert (its comment) are told. */
const SAID: ReadonlySet<string> = new Set(["resolved", "acknowledged", "assigned", "commented", "refired", "reopened"]);

/** The words a ticket's note and the Azure alert's comment get for an event (who did what, where): the timeline's own. */
export function describeEvent(event: IncidentEvent): string | null {
  const said = event.type === "resolved" ? event.detail.resolution !== "alert" : SAID.has(event.type) && (event.type !== "reopened" || Boolean(event.detail.policy));
  if (!said) return null;
  const text = summariseEvent(event.type, event.actor, event.detail);
  return `${text[0]!.toUpperCase()}${text.slice(1)}`;
}

/** A silence in force, its match compiled. */
export interface ActiveSilence {
  id: string;
  matcher: Matcher;
  until: string;
}

/** What noise decisions may touch, locked for this transaction (ledger/noise-context.ts). */
export interface NoiseContext {
  silences: readonly ActiveSilence[];
  /** Group keys whose open group (if any) is among `problems`: a new group of such a key may be opened. */
  lockedGroupKeys: Set<string>;
  /** Locked problems (groups and storm incidents) by id. */
  problems: Map<string, StoredIncident>;
  /** Locked storm counters by `storm/connector`. */
  counters: Map<string, LockedStormCounter>;
  /** CIs of locked problems, as their tickets list them. */
  problemBindings: Map<string, CiBinding[]>;
}

/** For commands that touch no noise state (a fresh one each time: a change set adds what it opens). */
export function noNoise(): NoiseContext {
  return { silences: [], lockedGroupKeys: new Set(), problems: new Map(), counters: new Map(), problemBindings: new Map() };
}

/** The connectors an incident's changes go to, with the fields its route set for each. */
function destinations(incident: StoredIncident, targets: DeliveryTargets): Array<{ connector: string; fields: Record<string, string> }> {
  if (incident.routing) return incident.routing.deliveries.map((d) => ({ connector: d.connector, fields: d.fields }));
  return targets.connectors.map((connector) => ({ connector, fields: {} }));
}

const instant = (iso: string) => Date.parse(iso);

/** Whether an alert's changes go on to a ticket yet (incidents stored before noise control: when not held). */
function dispatched(incident: StoredIncident, now: Date): boolean {
  if (incident.noise) return incident.noise.dispatched;
  return !incident.hold || instant(incident.hold.until) <= now.getTime();
}

function policyOf(incident: StoredIncident): NoiseDecision | null {
  return incident.routing?.noise ?? null;
}

function sameCounter(a: LockedStormCounter, b: LockedStormCounter): boolean {
  return a.incidentId === b.incidentId && a.opened.length === b.opened.length && a.opened.every((t, n) => t === b.opened[n]);
}

/** What a member change reads in its problem's ticket. */
function memberLine(incident: StoredIncident, action: DeliveryAction): string | null {
  const what = `${incident.title} (${incident.alertId.split("/").filter(Boolean).at(-1) ?? incident.alertId})`;
  if (action === "resolve") return `resolved: ${what}`;
  if (action === "reopen") return `fired again: ${what}`;
  return null;
}

export class ChangeSet {
  private readonly targets: DeliveryTargets;
  private readonly now: Date;
  /** `now` as the ledger writes it, made once: every decision of a batch reads it. */
  private readonly at: string;
  private readonly context: NoiseContext;
  readonly inserted = new Map<string, StoredIncident>();
  readonly updated = new Map<string, StoredIncident>();
  readonly events: Array<IncidentEvent & { incidentId: string }> = [];
  readonly bindings: IncidentBinding[] = [];
  readonly deliveries: NewDelivery[] = [];
  readonly counters = new Map<string, LockedStormCounter>();
  /** One member_joined / member_changed event per problem and change set, however many members (a storm of 200 alerts is one line, not 200). */
  private readonly memberEvents = new Map<string, IncidentEvent & { incidentId: string }>();

  /** The problems as the store holds them (decisions never change a loaded incident; they make new ones). */
  private readonly stored: ReadonlyMap<string, StoredIncident>;

  constructor(targets: DeliveryTargets, now: Date = new Date(), context: NoiseContext = noNoise()) {
    this.targets = targets;
    this.now = now;
    this.at = now.toISOString();
    this.context = context;
    this.stored = new Map(context.problems);
  }

  /** Updated problems whose listed members, pending lines and description did not change: the write keeps the stored ones. */
  sameText(): Set<string> {
    const same = new Set<string>();
    for (const [id, incident] of this.updated) {
      const stored = this.stored.get(id);
      if (stored && sameProblemText(stored, incident)) same.add(id);
    }
    return same;
  }

  /**
   * Records one decision about incident `id`. `before` is what the store (or this batch) held, null
   * for a new incident, which takes `routing` (the rules' answer when it arrived) for its life.
   * `bindings` are its CIs as this change knows them: linked, and carried by every delivery.
   * `alert` (new incidents) is what silences are matched against.
   */
  record(change: {
    id: string;
    before: StoredIncident | null;
    decision: Decision;
    bindings: readonly CiBinding[];
    note?: string | null;
    routing?: RoutingExplanation | null;
    alert?: NormalisedAlert;
    /** The connector the change came from (a person's close in its ticket): it is not sent back there. */
    origin?: string;
  }): StoredIncident {
    const { id, before, decision } = change;
    const note = change.note ?? null;
    for (const binding of change.bindings) this.bindings.push({ incidentId: id, binding });
    if (before) {
      // An alert that fired again after a person closed it, under the `new` policy, gets a new ticket.
      const newTicket = decision.events.some((e) => e.type === "reopened" && e.detail.policy === "new");
      const ticketGeneration = (before.ticketGeneration ?? 1) + (newTicket ? 1 : 0);
      let incident: StoredIncident = { ...before, ...decision.incident, ticketGeneration };
      this.keep(incident, this.inserted.has(id), decision.changed || newTicket);
      this.addEvents(id, decision.events);
      // An acknowledgement or a comment changes no state but is still told.
      if (!decision.changed && !newTicket && decision.events.length === 0) return incident;
      if (incident.kind !== "alert") {
        // A person or an operator resolved a problem: its ticket is told, its timer stops.
        incident = { ...incident, dueAt: incident.state === "resolved" ? null : incident.dueAt, problem: incident.problem ? { ...incident.problem, pending: [], pendingMore: 0 } : null };
        this.keep(incident, this.inserted.has(id), true);
        for (const event of decision.events) this.deliver(incident, actionsFor([event]), change.bindings, note, describeEvent(event), change.origin);
        return incident;
      }
      if (!dispatched(incident, this.now)) return incident;
      const told = this.tell(incident, decision.events, change.bindings, note, change.origin);
      if (this.targets.alertSync) this.deliverToAzure(incident, decision.events);
      return told;
    }
    return this.recordNew(id, decision, change.bindings, note, change.routing ?? null, change.alert ?? null);
  }

  private recordNew(id: string, decision: Decision, bindings: readonly CiBinding[], note: string | null, routing: RoutingExplanation | null, alert: NormalisedAlert | null): StoredIncident {
    const hold = routing?.maintenance.held && routing.maintenance.window && routing.maintenance.until ? { window: routing.maintenance.window, until: routing.maintenance.until } : null;
    const policy = routing?.noise ?? null;
    const holds: NoiseHold[] = [];
    if (policy?.holdUntil && instant(policy.holdUntil) > this.now.getTime()) holds.push({ kind: "transient", until: policy.holdUntil });
    if (alert && this.context.silences.length > 0) {
      const subject = routingSubject(alert);
      for (const silence of this.context.silences) if (silence.matcher.test(subject).matched) holds.push({ kind: "silence", id: silence.id, until: silence.until });
    }
    const noise: AlertNoise | null = holds.length > 0 || policy ? { ...QUIET_ALERT, holds } : null;
    let incident: StoredIncident = { ...decision.incident, id, routing, hold, ...PLAIN, noise, ticketGeneration: 1 };
    const events = [...decision.events];
    const at = decision.events[0]?.at ?? this.at;
    // The explanation lines are the incident's own (`routing`, never changed after this): not copied into the event.
    if (routing) events.push({ type: "routed", at, notificationId: null, actor: null, detail: { connectors: routing.connectors, routes: routing.routes.map((r) => r.name) } });
    if (hold) events.push({ type: "held", at, notificationId: null, actor: null, detail: { window: hold.window, until: hold.until } });
    for (const h of holds) events.push({ type: "held", at, notificationId: null, actor: null, detail: h.kind === "silence" ? { silence: h.id, until: h.until } : { transient: true, rule: policy?.rule ?? null, until: h.until } });
    this.addEvents(id, events);
    const held = deliveriesHeldUntil(incident);
    if (held !== null && instant(held) > this.now.getTime()) {
      incident = { ...incident, noise: { ...(noise ?? QUIET_ALERT), holds, dispatched: false } };
      this.keep(incident, true, true);
      return incident;
    }
    this.keep(incident, true, true);
    const dispatchedNow = this.dispatch(incident, bindings, note, decision.events);
    if (this.targets.alertSync) this.deliverToAzure(incident, decision.events);
    return dispatchedNow;
  }

  /**
   * Ends the holds on an incident: an open one is sent now (its tool has never seen it); one
   * resolved inside the hold never is (`transient` when a transient hold held it). `remaining`
   * are holds still running (a silence that was extended): then it stays held.
   */
  release(incident: StoredIncident, bindings: readonly CiBinding[], remaining: readonly NoiseHold[] = []): StoredIncident {
    const before = incident.noise?.holds ?? [];
    const window = incident.hold && instant(incident.hold.until) > this.now.getTime() ? incident.hold : null;
    if (remaining.length > 0 || window) {
      const still: StoredIncident = { ...incident, hold: window, noise: { ...(incident.noise ?? QUIET_ALERT), holds: [...remaining], dispatched: false } };
      this.keep(still, this.inserted.has(incident.id), true);
      return still;
    }
    const released: StoredIncident = { ...incident, hold: null, noise: incident.noise ? { ...incident.noise, holds: [] } : null };
    const sent = released.state === "open";
    const transient = !sent && before.some((h) => h.kind === "transient");
    const ended = [...(incident.hold ? [`maintenance window ${incident.hold.window}`] : []), ...before.map((h) => (h.kind === "silence" ? `silence ${h.id}` : "transient hold"))];
    this.addEvents(incident.id, [
      { type: "released", at: this.at, notificationId: null, actor: null, detail: { window: incident.hold?.window ?? null, silences: before.flatMap((h) => (h.kind === "silence" ? [h.id] : [])), ended, sent } },
    ]);
    if (transient) {
      this.addEvents(incident.id, [{ type: "transient", at: this.at, notificationId: null, actor: null, detail: { rule: policyOf(incident)?.rule ?? null, resolvedAt: incident.resolvedAt } }]);
    }
    this.keep(released, this.inserted.has(incident.id), true);
    if (!sent) return this.settle({ ...released, noise: released.noise ? { ...released.noise, transient } : null });
    return this.dispatch(released, bindings, null, []);
  }

  /** Marks an alert dispatched (or never to be sent) and keeps its noise state only when it says something. */
  private settle(incident: StoredIncident): StoredIncident {
    let noise = incident.noise ? { ...incident.noise, dispatched: true } : null;
    if (noise && isQuiet(noise) && !policyOf(incident)) noise = null;
    const settled = { ...incident, noise };
    this.keep(settled, this.inserted.has(incident.id), true);
    return settled;
  }

  /** Sends an open alert on: to its group, to a storm incident, or to a ticket of its own, per connector. */
  private dispatch(incident: StoredIncident, bindings: readonly CiBinding[], note: string | null, events: readonly IncidentEvent[]): StoredIncident {
    const policy = policyOf(incident);
    const connectors = destinations(incident, this.targets).map((d) => d.connector);
    let current: StoredIncident = { ...incident, problemId: null, noise: incident.noise ? { ...incident.noise, storms: {} } : null };
    let free = connectors;
    if (policy?.groupId) {
      if (!this.context.lockedGroupKeys.has(policy.groupId)) throw new Error(`group ${policy.groupId} was not locked before deciding (ledger/noise-context.ts)`);
      let group = this.openGroupOf(policy.groupId);
      // A flapping-aware group that resolved lately reopens on its ticket instead of a new one.
      const recent = group ? undefined : this.recentGroupOf(policy);
      if (recent) group = this.applyProblem(recent, reopenProblem({ incident: recent, state: recent.problem! }, this.at));
      if (group) {
        current = this.join(group, current, bindings);
        const served = new Set(destinations(group, this.targets).map((d) => d.connector));
        free = connectors.filter((c) => !served.has(c));
      } else {
        const admitted = connectors.filter((c) => this.admit(policy, c));
        for (const c of connectors.filter((c) => !admitted.includes(c))) current = this.attachStorm(policy, c, current, bindings);
        if (admitted.length > 0) {
          const opened = this.openGroup(policy, current, admitted);
          current = this.join(opened, current, bindings);
          this.openNow(opened);
        }
        free = [];
      }
    }
    const own: string[] = [];
    for (const c of free) {
      if (this.admit(policy, c)) own.push(c);
      else current = this.attachStorm(policy!, c, current, bindings);
    }
    if (own.length > 0) {
      this.deliver(current, ["open"], bindings, note, null, undefined, own);
      // A first notification that already said Resolved opens and resolves the ticket at once, as before noise control.
      if (events.some((e) => e.type === "resolved")) this.deliver(current, ["resolve"], bindings, note, null, undefined, own);
    }
    return this.settle(current);
  }

  private openGroupOf(groupKey: string): StoredIncident | undefined {
    return [...this.context.problems.values()].find((p) => p.kind === "group" && p.groupKey === groupKey && p.state === "open");
  }

  /** The group of this key that resolved within the flapping window, latest first. */
  private recentGroupOf(policy: NoiseDecision): StoredIncident | undefined {
    if (!policy.flapping) return undefined;
    const since = this.now.getTime() - policy.flapping.withinMs;
    return [...this.context.problems.values()]
      .filter((p) => p.kind === "group" && p.groupKey === policy.groupId && p.state === "resolved" && p.resolvedAt !== null && instant(p.resolvedAt) >= since)
      .sort((a, b) => instant(b.resolvedAt!) - instant(a.resolvedAt!))[0];
  }

  /** Whether a storm guard lets one more ticket through to `connector`; counts it when it does. */
  private admit(policy: NoiseDecision | null, connector: string): boolean {
    if (!policy?.storm) return true;
    const counter = this.counter(policy.storm.name, connector);
    const outcome = stormAdmit(counter, policy.storm, this.at);
    this.setCounter({ ...counter, ...outcome.counter });
    return outcome.admitted;
  }

  private counter(storm: string, connector: string): LockedStormCounter {
    const key = stormCounterKey(storm, connector);
    const counter = this.counters.get(key) ?? this.context.counters.get(key);
    if (!counter) throw new Error(`storm counter ${key} was not locked before deciding (ledger/noise-context.ts)`);
    return counter;
  }

  private setCounter(counter: LockedStormCounter): void {
    const key = stormCounterKey(counter.storm, counter.connector);
    // Past its budget a storm guard's counter stays as it is, batch after batch: nothing to write.
    const stored = this.context.counters.get(key);
    if (stored && !this.counters.has(key) && sameCounter(stored, counter)) return;
    this.counters.set(key, counter);
  }

  private problem(id: string): StoredIncident {
    const problem = this.inserted.get(id) ?? this.updated.get(id) ?? this.context.problems.get(id);
    if (!problem) throw new Error(`problem ${id} was not locked before deciding (ledger/noise-context.ts)`);
    return problem;
  }

  private newProblem(kind: "group" | "storm", policy: NoiseDecision, first: StoredIncident, rule: string, key: string, groupKey: string, connectors: readonly string[], groupWaitMs: number, groupIntervalMs: number): StoredIncident {
    const id = newIncidentId();
    const decision = openProblem({
      kind,
      alertId: `secure-export/${kind}/${rule}/${id}`,
      rule,
      key,
      resolveWhen: kind === "group" ? policy.resolveWhen : "all",
      groupWaitMs,
      groupIntervalMs,
      flapping: kind === "group" ? policy.flapping : null,
      first,
      now: this.at,
    });
    const routing: RoutingExplanation | null = first.routing
      ? { ...first.routing, connectors: [...connectors], deliveries: first.routing.deliveries.filter((d) => connectors.includes(d.connector)) }
      : null;
    const problem: StoredIncident = { ...decision.incident, id, routing, hold: null, kind, problemId: null, groupKey, noise: null, problem: decision.state, dueAt: problemDueAt(decision.incident, decision.state), ticketGeneration: 1 };
    this.context.problems.set(id, problem);
    this.keep(problem, true, true);
    this.addEvents(id, decision.events);
    return problem;
  }

  private openGroup(policy: NoiseDecision, first: StoredIncident, connectors: readonly string[]): StoredIncident {
    return this.newProblem("group", policy, first, policy.rule!, policy.groupKey!, policy.groupId!, connectors, policy.groupWaitMs, policy.groupIntervalMs);
  }

  /** A group with no groupWait opens its ticket with its first member, in the same change. */
  private openNow(problem: StoredIncident): void {
    const current = this.problem(problem.id);
    if (!current.problem!.sent && current.problem!.waitUntil !== null && instant(current.problem!.waitUntil) <= this.now.getTime()) {
      this.applyProblem(current, problemDue({ incident: current, state: current.problem! }, this.at));
    }
  }

  private attachStorm(policy: NoiseDecision, connector: string, incident: StoredIncident, bindings: readonly CiBinding[]): StoredIncident {
    const storm = policy.storm!;
    const counter = this.counter(storm.name, connector);
    const current = counter.incidentId ? this.context.problems.get(counter.incidentId) ?? this.inserted.get(counter.incidentId) ?? this.updated.get(counter.incidentId) : undefined;
    let problem = current && current.state === "open" ? current : null;
    if (!problem) {
      const key = `connector ${connector}`;
      problem = this.newProblem("storm", policy, incident, storm.name, key, `storm:${createHash("sha256").update(JSON.stringify([storm.name, connector])).digest("hex")}`, [connector], 0, storm.groupIntervalMs);
      this.setCounter({ ...counter, incidentId: problem.id });
    }
    const joined = this.join(problem, incident, bindings, connector);
    // A storm's ticket opens at once: it is the one ticket the storm gets.
    this.openNow(problem);
    return joined;
  }

  /** The alert joins a problem: the problem's ticket tells it, and the alert's timeline says where it went. */
  private join(problem: StoredIncident, incident: StoredIncident, bindings: readonly CiBinding[], stormConnector?: string): StoredIncident {
    const current = this.problem(problem.id);
    const decision = joinProblem({ incident: current, state: current.problem! }, { incidentId: incident.id, alertId: incident.alertId, title: incident.title, state: incident.state, severity: incident.severity }, this.at);
    this.applyProblem(current, decision);
    for (const binding of bindings) this.bindings.push({ incidentId: problem.id, binding });
    this.context.problemBindings.set(problem.id, [...(this.context.problemBindings.get(problem.id) ?? []), ...bindings]);
    const state = current.problem!;
    this.addEvents(incident.id, [
      {
        type: "grouped",
        at: this.at,
        notificationId: null,
        actor: null,
        detail: { problemId: problem.id, kind: problem.kind, rule: state.rule, key: state.key, ...(stormConnector ? { connector: stormConnector } : {}), ...(state.sent ? {} : { ticketAt: state.waitUntil }) },
      },
    ]);
    if (stormConnector) return { ...incident, noise: { ...(incident.noise ?? QUIET_ALERT), storms: { ...(incident.noise?.storms ?? {}), [stormConnector]: problem.id } } };
    return { ...incident, problemId: problem.id };
  }

  private applyProblem(before: StoredIncident, decision: ProblemDecision): StoredIncident {
    const problem: StoredIncident = { ...before, ...decision.incident, problem: decision.state, dueAt: problemDueAt(decision.incident, decision.state) };
    this.context.problems.set(problem.id, problem);
    this.keep(problem, this.inserted.has(problem.id), true);
    for (const event of decision.events) {
      if (event.type === "member_joined" || event.type === "member_changed") this.addMemberEvent(problem.id, event);
      else this.addEvents(problem.id, [event]);
    }
    if (decision.actions.length > 0) this.deliver(problem, decision.actions, this.context.problemBindings.get(problem.id) ?? [], decision.note);
    return problem;
  }

  /** A dispatched alert's changes: to its own ticket, its group's, or its storm incidents'. */
  private tell(incident: StoredIncident, events: readonly IncidentEvent[], bindings: readonly CiBinding[], note: string | null, origin?: string): StoredIncident {
    return this.route(incident, events, bindings, note, origin);
  }

  /** Sends `actions` where the alert's changes go. */
  private route(incident: StoredIncident, events: readonly IncidentEvent[], bindings: readonly CiBinding[], note: string | null, origin?: string): StoredIncident {
    const actions = actionsFor(events);
    const current = incident;
    const storms = current.noise?.storms ?? {};
    const own = this.ownConnectors(current);
    // Each event with its own words (who did what), never back to the tool it came from.
    if (own.length > 0) for (const event of events) this.deliver(current, actionsFor([event]), bindings, note, describeEvent(event), origin, own);
    const problems = [...new Set([...(current.problemId ? [current.problemId] : []), ...Object.values(storms)])];
    let refire = false;
    for (const id of problems) {
      const problem = this.problem(id);
      if (actions.length === 0) continue;
      if (problem.state === "resolved") {
        // A member firing again after its problem resolved: reopened (flapping-aware) or a new one (its ticket is closed).
        if (actions.includes("reopen") || (actions.includes("open") && current.state === "open")) refire = true;
        continue;
      }
      const last = actions.at(-1);
      this.applyProblem(problem, memberChanged({ incident: problem, state: problem.problem! }, { incidentId: current.id, state: current.state }, last ? memberLine(current, last) : null, this.at));
    }
    if (refire && current.state === "open") return this.dispatch(current, bindings, note, []);
    return current;
  }

  /** The connectors where an alert has a ticket of its own: not its group's, not a storm's. */
  private ownConnectors(incident: StoredIncident): string[] {
    const storms = incident.noise?.storms ?? {};
    const grouped = new Set(incident.problemId ? destinations(this.problem(incident.problemId), this.targets).map((d) => d.connector) : []);
    return destinations(incident, this.targets).map((d) => d.connector).filter((c) => !storms[c] && !grouped.has(c));
  }

  /** The noise timer for a problem: its ticket opens after groupWait, gathered changes go out per groupInterval. */
  tick(problem: StoredIncident): StoredIncident {
    return this.applyProblem(problem, problemDue({ incident: problem, state: problem.problem! }, this.at));
  }

  private keep(incident: StoredIncident, isNew: boolean, changed: boolean): void {
    if (isNew) this.inserted.set(incident.id, incident);
    else if (changed) this.updated.set(incident.id, incident);
  }

  /** Folds a member event into this change set's one event of its kind for the problem: a count, the first alerts, the latest totals. */
  private addMemberEvent(problemId: string, event: IncidentEvent): void {
    const key = `${problemId} ${event.type}`;
    const detail = event.detail as { incidentId?: string; alertId?: string; members: number; open: number };
    const folded = this.memberEvents.get(key);
    if (!folded) {
      const first = { ...event, incidentId: problemId, detail: { count: 1, incidentIds: detail.incidentId ? [detail.incidentId] : [], members: detail.members, open: detail.open } };
      this.memberEvents.set(key, first);
      this.events.push(first);
      return;
    }
    const d = folded.detail as { count: number; incidentIds: string[]; members: number; open: number };
    d.count += 1;
    if (detail.incidentId && d.incidentIds.length < 20) d.incidentIds.push(detail.incidentId);
    d.members = detail.members;
    d.open = detail.open;
  }

  private addEvents(incidentId: string, events: readonly IncidentEvent[]): void {
    for (const event of events) this.events.push({ ...event, incidentId });
  }

  private deliver(incident: StoredIncident, actions: readonly DeliveryAction[], bindings: readonly CiBinding[], note: string | null, said: string | null = null, origin?: string, only?: readonly string[]): void {
    if (actions.length === 0) return;
    for (const { connector, fields } of destinations(incident, this.targets)) {
      if (connector === origin || (only && !only.includes(connector))) continue;
      const snapshot = snapshotOf(incident.id, incident, bindings, note, fields, { ticketGeneration: incident.ticketGeneration, said });
      if (incident.problem) snapshot.problem = { kind: incident.problem.kind, rule: incident.problem.rule, key: incident.problem.key, members: incident.problem.members, open: incident.problem.open };
      for (const action of actions) this.deliveries.push({ incidentId: incident.id, connector, action, snapshot, maxAgeMs: this.targets.maxAgeMs });
    }
  }

  /** The Azure alert's own state follows what people and the receiver did (azure/alerts.ts decides what). */
  private deliverToAzure(incident: StoredIncident, events: readonly IncidentEvent[]): void {
    for (const event of events) {
      for (const action of azureActionsFor(event)) {
        const snapshot = snapshotOf(incident.id, incident, [], null, {}, { ticketGeneration: incident.ticketGeneration, said: describeEvent(event) });
        this.deliveries.push({ incidentId: incident.id, connector: AZURE_ALERTS, action, snapshot, maxAgeMs: this.targets.maxAgeMs });
      }
    }
  }
}

/**
 * Writes a change set in the caller's transaction (store/ledger-writes.ts: two statements, whatever its size; a third for storm counters).
 * Returns the updated problems whose text the write kept as stored (ChangeSet.sameText), for what the caller holds of it after the commit.
 */
export function writeChanges(tx: Transaction, changes: ChangeSet): ReadonlySet<string> {
  const sameText = changes.sameText();
  writeLedger(tx, { inserted: [...changes.inserted.values()], updated: [...changes.updated.values()], events: changes.events, bindings: changes.bindings, deliveries: changes.deliveries, sameText });
  writeStormCounters(tx, [...changes.counters.values()]);
  return sameText;
}
