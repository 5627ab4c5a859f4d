/**
 * Routes: which connectors an admitted alert's incident goes to, and the incident fields each
 * route sets there. Routes are tried in order; the first that matches wins, unless it says
 * `continue: true`, in which case the next matching routes add their connectors too. Pure.
 *
 * - No `routes` at all: every connector gets the incident (the behaviour before rules existed).
 * - Routes, but none matches: no connector gets it; the incident stays in the receiver's ledger
 *   (which needs no ITSM). End the list with a route without `match` to catch the rest.
 * - A connector named by several matching routes gets the incident once, with the fields of the
 *   first of them.
 */
import type { RefirePolicy } from "../incidents/lifecycle.ts";
import type { NamedConnector } from "./connectors.ts";
import type { Matcher } from "./match.ts";
import { apiFields } from "../connectors/fields.ts";
import { profileOf } from "../connectors/kinds.ts";
import type { RoutingSubject } from "./subject.ts";

export interface Route {
  name: string;
  matcher: Matcher;
  to: string[];
  /** As written in the rules; `sets` holds it checked and normalised per connector. */
  set: Record<string, string | number>;
  /** Connector name → the route's `set`, normalised for that connector's kind (urgency 2 → "2-High"). */
  sets: ReadonlyMap<string, Record<string, string>>;
  continue: boolean;
  /** An alert that fires again after a person closed its incident (default `new`). */
  onRefireAfterClose: RefirePolicy;
}

export interface RouteMatch {
  name: string;
  connectors: string[];
  set: Record<string, string | number>;
  /** Absent in routing stored before the closed loop (which behaves as `new`). */
  onRefireAfterClose?: RefirePolicy;
}

/** One incident delivery the outbox should queue: where, because of which route, with which fields. */
export interface RoutedDelivery {
  connector: string;
  /** The route that chose it, or null when there are no routes (every connector). */
  route: string | null;
  /** The id of the tool's field profile (servicenow-table, bmc-helix, …). */
  profile: string;
  /** The route's fields, normalised for this connector. */
  set: Record<string, string>;
  /** The same fields under the ITSM API's own names (assignment_group, "Assigned Group", …). */
  fields: Record<string, string>;
}

export interface RoutingDecision {
  routes: RouteMatch[];
  deliveries: RoutedDelivery[];
  explanation: string[];
}

function describeSet(set: Record<string, string | number>): string {
  const entries = Object.entries(set);
  return entries.length === 0 ? "" : ` with ${entries.map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(", ")}`;
}

export function decideRoutes(routes: readonly Route[] | null, connectors: readonly NamedConnector[], subject: RoutingSubject): RoutingDecision {
  const byName = new Map(connectors.map((c) => [c.name, c]));
  if (!routes) {
    return {
      routes: [],
      deliveries: connectors.map((c) => ({ connector: c.name, route: null, profile: profileOf(c.config)!.id, set: {}, fields: {} })),
      explanation: [
        connectors.length === 0
          ? "routes: no routes and no connectors: the incident stays in the receiver's ledger"
          : `routes: no routes, so every connector gets the incident: ${connectors.map((c) => c.name).join(", ")}`,
      ],
    };
  }
  const matched: RouteMatch[] = [];
  const deliveries: RoutedDelivery[] = [];
  const explanation: string[] = [];
  for (const route of routes) {
    const outcome = route.matcher.test(subject);
    if (!outcome.matched) {
      explanation.push(`routes: route "${route.name}" does not match: ${outcome.reason}`);
      continue;
    }
    matched.push({ name: route.name, connectors: [...route.to], set: { ...route.set }, onRefireAfterClose: route.onRefireAfterClose });
    const already = route.to.filter((name) => deliveries.some((d) => d.connector === name));
    for (const name of route.to.filter((n) => !already.includes(n))) {
      const profile = profileOf(byName.get(name)!.config)!;
      const set = route.sets.get(name) ?? {};
      deliveries.push({ connector: name, route: route.name, profile: profile.id, set, fields: apiFields(profile, set) });
    }
    const note = already.length ? ` (${already.join(", ")} already chosen by an earlier route, whose fields stand)` : "";
    explanation.push(`routes: route "${route.name}" matches (${outcome.reasons.join("; ")}): to ${route.to.join(", ")}${describeSet(route.set)}${note}`);
    if (!route.continue) {
      const rest = routes.length - routes.indexOf(route) - 1;
      if (rest > 0) explanation.push(`routes: route "${route.name}" does not continue, so the ${rest} route${rest === 1 ? "" : "s"} after it ${rest === 1 ? "is" : "are"} not tried`);
      break;
    }
  }
  if (matched.length === 0) explanation.push("routes: no route matches, so no connector gets the incident; it stays in the receiver's ledger");
  return { routes: matched, deliveries, explanation };
}
