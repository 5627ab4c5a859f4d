/**
 * Admission: whether an alert is taken in at all. A token only proves "Azure Monitor in this
 * tenant" (any action-group author gets one), so the payload's subscription, resource group or
 * rule is what an allow-list can check. First matching rule wins; none matching means `default`.
 * A rejected alert is still recorded by the caller (visible, never silently dropped). Pure.
 */
import type { Matcher } from "./match.ts";
import type { RoutingSubject } from "./subject.ts";

export type AdmissionAction = "admit" | "reject";

export interface AdmissionRule {
  name: string;
  matcher: Matcher;
  action: AdmissionAction;
}

export interface AdmissionPolicy {
  default: AdmissionAction;
  rules: AdmissionRule[];
}

export interface AdmissionDecision {
  decision: AdmissionAction;
  /** The rule that decided, or null when the default (or the absence of rules) did. */
  rule: string | null;
  explanation: string[];
}

/** With no policy every alert is admitted: the receiver's behaviour before rules existed. */
export function decideAdmission(policy: AdmissionPolicy | null, subject: RoutingSubject): AdmissionDecision {
  if (!policy) return { decision: "admit", rule: null, explanation: ["admission: no admission rules, so every alert is admitted"] };
  const explanation: string[] = [];
  for (const rule of policy.rules) {
    const outcome = rule.matcher.test(subject);
    if (outcome.matched) {
      explanation.push(`admission: rule "${rule.name}" matches (${outcome.reasons.join("; ")}), so the alert is ${rule.action === "admit" ? "admitted" : "rejected"}`);
      return { decision: rule.action, rule: rule.name, explanation };
    }
    explanation.push(`admission: rule "${rule.name}" does not match: ${outcome.reason}`);
  }
  explanation.push(`admission: no rule matches, so the default applies: the alert is ${policy.default === "admit" ? "admitted" : "rejected"}`);
  return { decision: policy.default, rule: null, explanation };
}
