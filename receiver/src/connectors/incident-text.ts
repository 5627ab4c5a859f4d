/** The words an ITSM incident gets: a short title and a description with the alert's essentials. Pure. */
import type { IncidentSnapshot } from "./delivery.ts";

export function azurePortalLink(alertId: string): string {
  return `https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId/${encodeURIComponent(alertId)}`;
}

export function shortTitle(s: IncidentSnapshot, max = 160): string {
  const title = `[${s.severity ?? "Azure"}] ${s.title}`;
  return title.length > max ? `${title.slice(0, max - 1)}…` : title;
}

export function incidentDescription(s: IncidentSnapshot): string {
  const lines = [
    `Azure Monitor alert: ${s.title}`,
    `Severity: ${s.severity ?? "none"} | Monitoring service: ${s.monitoringService} | Signal: ${s.signalType ?? "n/a"}`,
    `Fired: ${s.firedAt}`,
    ...(s.resolvedAt ? [`Resolved: ${s.resolvedAt}`] : []),
    ...(s.alertRule ? [`Alert rule: ${s.alertRule}`] : []),
    ...(s.resources.length ? [`Resources: ${s.resources.map((r) => r.resourceId).join(", ")}`] : []),
    ...(s.unboundCis.length ? [`Configuration items without a resource id: ${s.unboundCis.join(", ")}`] : []),
    ...(s.description ? ["", s.description] : []),
    "",
    `Alert: ${azurePortalLink(s.alertId)}`,
    `Alert id: ${s.alertId}`,
  ];
  return lines.join("\n");
}

export function resolutionText(s: IncidentSnapshot, configured: string): string {
  if (s.resolution === "operator") return `${configured}: resolved by an operator${s.note ? ` (${s.note})` : ""}.`;
  if (s.resolution === "quiet_period") return `${configured}: no new firing during the configured quiet period.`;
  return `${configured}: Azure Monitor reported the alert resolved at ${s.resolvedAt ?? "an unknown time"}.`;
}
