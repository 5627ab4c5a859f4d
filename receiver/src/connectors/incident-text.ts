/**
 * The words an ITSM incident gets: a short title, a description with the alert's essentials and a
 * resolution note, each cut to what the tool's field holds. Pure.
 */
import { SELF_MONITORING_SERVICE } from "../alerts/normalise.ts";
import { evidenceText } from "../incidents/evidence.ts";
import type { IncidentSnapshot } from "../outbox/delivery.ts";

/** How many resources or CI names a text lists; an alert may name 20,000 of them. */
const LISTED_ITEMS = 20;

/**
 * Cuts free text to at most `max` UTF-16 code units (what ServiceNow and AR System count), marking
 * the cut with "…" and never splitting a surrogate pair, which a tool would store as garbage.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** `a, b, c and 17 more`: the first few items, and how many were left out. */
/** The first `max` items, and how many more there are of `total` (a delivery carries only the first ones). */
export function listed(items: readonly string[], separator = ", ", max = LISTED_ITEMS, total = items.length): string {
  const shown = items.slice(0, max).join(separator);
  const more = Math.max(total, items.length) - Math.min(max, items.length);
  return more > 0 ? `${shown}${separator}and ${more} more` : shown;
}

/**
 * An ARM id where a field holds fewer characters than the id has (no VM id fits in 100): the
 * tail, which carries the provider type and the resource's name, from a segment boundary.
 */
export function shortResourceId(resourceId: string, max: number): string {
  if (resourceId.length <= max) return resourceId;
  const tail = resourceId.slice(resourceId.length - (max - 1));
  const boundary = tail.indexOf("/");
  return `…${boundary >= 0 ? tail.slice(boundary) : tail}`;
}

export function azurePortalLink(alertId: string): string {
  return `https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId/${encodeURIComponent(alertId)}`;
}

export function shortTitle(s: IncidentSnapshot, max: number): string {
  return clip(`[${s.severity ?? "Azure"}] ${s.title}`, max);
}

/** The essentials first and the alert's own (free, possibly long) description last, so a cut loses only its end. */
export function incidentDescription(s: IncidentSnapshot, max: number): string {
  if (s.problem) return problemDescription(s, max);
  // The receiver's own alerts (heartbeat, credentials) have no Azure alert to link to.
  const own = s.monitoringService === SELF_MONITORING_SERVICE;
  const lines = [
    `${own ? "secure-export alert" : "Azure Monitor alert"}: ${s.title}`,
    `Severity: ${s.severity ?? "none"} | Monitoring service: ${s.monitoringService} | Signal: ${s.signalType ?? "n/a"}`,
    `Fired: ${s.firedAt}`,
    ...(s.resolvedAt ? [`Resolved: ${s.resolvedAt}`] : []),
    ...(s.alertRule ? [`Alert rule: ${s.alertRule}`] : []),
    ...(s.resources.length ? [`Resources: ${listed(s.resources.map((r) => r.resourceId), ", ", LISTED_ITEMS, s.resourceCount)}`] : []),
    ...(s.unboundCis.length ? [`Configuration items without a resource id: ${listed(s.unboundCis, ", ", LISTED_ITEMS, s.unboundCount)}`] : []),
    ...(own ? [] : [`Alert: ${azurePortalLink(s.alertId)}`]),
    `Alert id: ${s.alertId}`,
    ...(s.description ? ["", s.description] : []),
    // Last: the rows are the longest part, and a cut then loses only some of them.
    ...(s.evidence ? ["", evidenceText(s.evidence)] : []),
  ];
  return clip(lines.join("\n"), max);
}

/** A group's or storm's ticket: what gathered the alerts, how many fire, and the first of them (the description lists them). */
function problemDescription(s: IncidentSnapshot, max: number): string {
  const p = s.problem!;
  const lines = [
    p.kind === "group" ? `Azure Monitor alerts grouped by noise entry "${p.rule}" (${p.key})` : `Azure Monitor alert storm: storm guard "${p.rule}" (${p.key})`,
    `Severity: ${s.severity ?? "none"} | Alerts: ${p.members}, firing: ${p.open}`,
    `Since: ${s.firedAt}`,
    ...(s.resources.length ? [`Resources: ${listed(s.resources.map((r) => r.resourceId), ", ", LISTED_ITEMS, s.resourceCount)}`] : []),
    `secure-export incident: ${s.incidentId}`,
    ...(s.description ? ["", s.description] : []),
  ];
  return clip(lines.join("\n"), max);
}

/** An update to an open ticket (a problem's member changes, a flapping alert, a log alert's rows come late), cut to what the tool's field holds. */
export function updateText(s: IncidentSnapshot, max: number): string {
  if (!s.note && s.evidence) return clip(evidenceText(s.evidence), max);
  return clip(s.note ?? `Azure Monitor alert ${s.alertId} changed.`, max);
}

export function resolutionText(s: IncidentSnapshot, configured: string, max: number): string {
  // Closed elsewhere (a person in another ITSM, reconciliation): the words say who and where.
  if ((s.resolution === "itsm" || s.resolution === "reconciliation") && s.said) return clip(`${configured}: ${s.said}.`, max);
  if (s.problem) {
    const what = s.problem.kind === "group" ? `the ${s.problem.members} alerts of the group resolved` : `the ${s.problem.members} alerts of the storm resolved`;
    return clip(`${configured}: ${s.resolution === "operator" ? `resolved by an operator${s.note ? ` (${s.note})` : ""}` : what}.${s.note && s.resolution !== "operator" ? `\n${s.note}` : ""}`, max);
  }
  if (s.resolution === "operator") return clip(`${configured}: resolved by an operator${s.note ? ` (${s.note})` : ""}.`, max);
  if (s.resolution === "quiet_period") return clip(`${configured}: no new firing during the configured quiet period.`, max);
  return clip(`${configured}: Azure Monitor reported the alert resolved at ${s.resolvedAt ?? "an unknown time"}.`, max);
}

/** A ticket note for an acknowledgement, a comment or an alert that fired again (the snapshot's `said`). */
export function noteText(s: IncidentSnapshot, max: number): string {
  return clip(`${s.said ?? s.note ?? "Updated in secure-export"} (Azure Monitor alert ${s.alertId})`, max);
}
