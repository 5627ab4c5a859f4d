/**
 * What the rules do with one alert at one instant, and why: admission, routes, connectors, the
 * fields each connector gets, and maintenance. Pure. The result is plain JSON: the receiver
 * stores it on the incident (`routing`) and POST /api/routing/explain returns it.
 */
import type { NormalisedAlert } from "../alerts/normalise.ts";
import type { RefirePolicy } from "../incidents/lifecycle.ts";
import { decideAdmission, type AdmissionAction } from "./admission.ts";
import type { RoutingRules } from "./load-rules.ts";
import { maintenanceAt, type MaintenanceState } from "./maintenance.ts";
import { decideNoise, type NoiseDecision } from "./noise.ts";
import { decideRoutes, type RoutedDelivery, type RouteMatch } from "./routes.ts";
import { routingSubject, type RoutingSubject } from "./subject.ts";

export interface RoutingExplanation {
  admitted: boolean;
  admission: { decision: AdmissionAction; rule: string | null };
  /** The routes that matched, in order (empty without routes or when not admitted). */
  routes: RouteMatch[];
  /** The connectors that get the incident, each once, in the order chosen. */
  connectors: string[];
  /** Per connector: the route that chose it and the fields it sets there (plain and as API fields). */
  deliveries: RoutedDelivery[];
  maintenance: MaintenanceState;
  /** The noise entry and storm guard that apply (docs/noise.md); null when none does. */
  noise: NoiseDecision | null;
  /** Human-readable lines, in the order the decisions were taken. */
  explanation: string[];
}

function describeAlert(subject: RoutingSubject): string {
  const what = [subject.monitorCondition, subject.severity ?? "no-severity", subject.signalType ?? "", "alert"].filter(Boolean).join(" ");
  const rule = subject.alertRule ? ` of rule ${JSON.stringify(subject.alertRule)}` : "";
  const resources = subject.resources.map((r) => r.resourceId ?? `/subscriptions/${r.subscription}`);
  const on = resources.length === 0 ? "naming no resource" : `on ${resources.join(", ")}`;
  return `alert: ${what}${rule} from ${subject.monitoringService}, ${on}`;
}

export function explain(rules: RoutingRules, alert: NormalisedAlert, now: Date): RoutingExplanation {
  const subject = routingSubject(alert);
  const explanation = [describeAlert(subject)];
  const admission = decideAdmission(rules.admission, subject);
  explanation.push(...admission.explanation);
  if (admission.decision === "reject") {
    explanation.push("the alert is recorded as a notification that was not admitted: it opens no incident and nothing is sent");
    return {
      admitted: false,
      admission: { decision: "reject", rule: admission.rule },
      routes: [],
      connectors: [],
      deliveries: [],
      maintenance: { held: false, window: null, windows: [], until: null },
      noise: null,
      explanation,
    };
  }
  const routing = decideRoutes(rules.routes, rules.connectors, subject);
  explanation.push(...routing.explanation);
  const maintenance = maintenanceAt(rules.maintenance, subject, now);
  if (maintenance.held) {
    const window = rules.maintenance.find((w) => w.name === maintenance.window)!;
    const outcome = window.matcher.test(subject);
    const why = outcome.matched ? outcome.reasons.join("; ") : "";
    const others = maintenance.windows.length > 1 ? ` (also inside ${maintenance.windows.slice(1).map((n) => JSON.stringify(n)).join(", ")})` : "";
    explanation.push(`maintenance: window "${window.name}" (${window.schedule}) covers the alert at ${now.toISOString()} (${why})${others}`);
    explanation.push(`maintenance: the incident is held and sent when the hold ends at ${maintenance.until}, if it is still open then; resolved before that, it is never sent`);
  } else if (rules.maintenance.length > 0) {
    explanation.push(`maintenance: no window covers the alert at ${now.toISOString()}`);
  }
  const connectors = routing.deliveries.map((d) => d.connector);
  const noise = decideNoise(rules, subject, alert.firedAt, connectors);
  explanation.push(...noise.explanation);
  return {
    admitted: true,
    admission: { decision: "admit", rule: admission.rule },
    routes: routing.routes,
    connectors,
    deliveries: routing.deliveries,
    maintenance,
    noise: noise.decision,
    explanation,
  };
}

/** What an incident does when its alert fires again after a person closed it: its first matching route's policy, `new` without one. */
export function refirePolicyOf(routing: Pick<RoutingExplanation, "routes"> | null): RefirePolicy {
  return routing?.routes[0]?.onRefireAfterClose ?? "new";
}
