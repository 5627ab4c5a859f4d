/**
 * A timeline event in words, as the API's `summary` gives it to every reader (CLI, console, scripts),
 * so each shows the same sentence instead of `key: value` pairs. Pure.
 */

type Detail = Record<string, unknown>;

const str = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : typeof value === "number" ? String(value) : null);

function duration(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000]] as const) if (ms % size === 0 && ms >= size) return `${ms / size}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}

function attempts(detail: Detail): string {
  const n = typeof detail.attempts === "number" ? detail.attempts : 1;
  return n > 1 ? ` after ${n} attempts` : "";
}

function ticketStep(verb: string, detail: Detail): string {
  const ticket = str(detail.ticket);
  return `ticket${ticket ? ` ${ticket}` : ""} ${verb} in ${str(detail.connector) ?? "the ITSM tool"}${attempts(detail)}`;
}

/** Where a person acted: the ITSM tool, its connector and ticket, or secure-export itself. */
function where(detail: Detail): string {
  if (typeof detail.connector !== "string") return "secure-export";
  return `${str(detail.tool) ?? "the ITSM"} (connector ${detail.connector}, ticket ${str(detail.ticket) ?? "?"})`;
}

const noteOf = (detail: Detail) => (str(detail.note) ? `: ${str(detail.note)}` : "");

export function summariseEvent(type: string, actor: string | null, detail: Detail): string {
  const who = actor ?? "secure-export";
  switch (type) {
    case "opened":
      return "opened: the alert fired";
    case "reopened":
      return detail.policy ? `reopened: Azure Monitor fired the alert again after a person closed it (onRefireAfterClose: ${String(detail.policy)})` : "reopened: the alert fired again";
    case "resolved":
      if (detail.resolution === "operator") return `resolved by ${actor ?? "an operator"} in secure-export${noteOf(detail)}`;
      if (detail.resolution === "quiet_period") return `resolved after a quiet period${typeof detail.quietPeriodMs === "number" ? ` of ${duration(detail.quietPeriodMs)}` : ""}: the alert did not fire again`;
      if (detail.resolution === "itsm") {
        const closeCode = str(detail.closeCode) ? `, close code "${str(detail.closeCode)}"` : "";
        return `${detail.ticketState === "canceled" ? "canceled" : "closed"} by ${who} in ${where(detail)}${closeCode}${noteOf(detail)}`;
      }
      if (detail.resolution === "reconciliation") return `resolved by reconciliation: Azure reports monitorCondition ${String(detail.monitorCondition)}, alertState ${String(detail.alertState)}`;
      return "resolved: the alert resolved";
    case "acknowledged":
      return `acknowledged by ${who} in ${where(detail)}${noteOf(detail)}`;
    case "assigned":
      return `assigned to ${str(detail.assignee) ?? "?"} by ${who} in ${where(detail)}`;
    case "commented":
      return `${who} in ${where(detail)}${noteOf(detail) || ": (no text)"}`;
    case "refired":
      return `Azure Monitor fired the alert again; a person had closed it (${String(detail.closedBy)}), so the incident stays resolved (onRefireAfterClose: note)`;
    case "details_updated":
      return str(detail.firedAt) ? `details updated: it first fired at ${str(detail.firedAt)}` : "details updated";
    case "superseded":
      return "an older notification arrived late; it changed nothing";
    case "routed": {
      const connectors = Array.isArray(detail.connectors) ? detail.connectors.map(String) : [];
      return connectors.length ? `routed to ${connectors.join(", ")}` : "routed to no ITSM tool";
    }
    case "held": {
      const by = str(detail.silence) ? `silence ${str(detail.silence)}` : detail.transient ? `a transient hold (noise entry ${str(detail.rule) ?? "?"})` : `maintenance window ${str(detail.window) ?? "?"}`;
      return `held by ${by} until ${str(detail.until) ?? "?"}`;
    }
    case "released": {
      const ended = Array.isArray(detail.ended) && detail.ended.length ? detail.ended.map(String).join(", ") : `maintenance window ${str(detail.window) ?? "?"}`;
      return detail.sent ? `released from ${ended}: sent on` : `released from ${ended}: resolved meanwhile, nothing sent`;
    }
    case "transient":
      return `transient: resolved inside holdFor (noise entry ${str(detail.rule) ?? "?"}), never sent to the ITSM`;
    case "grouped": {
      const what = detail.kind === "storm" ? `storm incident ${str(detail.problemId) ?? "?"} (storm guard ${str(detail.rule) ?? "?"}${str(detail.connector) ? `, ${str(detail.connector)}` : ""})` : `group ${str(detail.problemId) ?? "?"} (noise entry ${str(detail.rule) ?? "?"}: ${str(detail.key) ?? "?"})`;
      return `joined ${what}${str(detail.ticketAt) ? `; its ticket opens at ${str(detail.ticketAt)}` : ""}`;
    }
    case "member_joined":
      return `${str(detail.count) ?? "1"} alert(s) joined: ${str(detail.open) ?? "?"} of ${str(detail.members) ?? "?"} firing`;
    case "member_changed":
      return `${str(detail.count) ?? "1"} member change(s): ${str(detail.open) ?? "?"} of ${str(detail.members) ?? "?"} firing`;
    case "notified":
      return detail.action === "open" ? "its ticket is opened" : `its ticket gets an update (${str(detail.lines) ?? "?"} changes)`;
    case "flapping_started":
      return `flapping: ${str(detail.changes) ?? "?"} changes; opens and resolves held back until quiet (about ${str(detail.quietUntil) ?? "?"})`;
    case "flapping_ended":
      return `no longer flapping: its ticket gets its state (${str(detail.state) ?? "?"})`;
    case "ticket_created":
      return ticketStep("created", detail);
    case "ticket_reopened":
      return ticketStep("reopened", detail);
    case "ticket_resolved":
      return ticketStep("resolved", detail);
    case "ticket_updated":
      return ticketStep("updated (a work note or work log)", detail);
    case "ticket_acknowledged":
      return ticketStep("acknowledged", detail);
    case "ticket_commented":
      return ticketStep("given a note", detail);
    case "delivery_failed":
      return `${str(detail.action) ?? "delivery"} to ${str(detail.connector) ?? "the ITSM tool"} failed${attempts(detail)}${str(detail.retryAt) ? `, retrying at ${str(detail.retryAt)}` : ""}: ${str(detail.error) ?? "no reason given"}`;
    case "delivery_dead":
      return `${str(detail.action) ?? "delivery"} to ${str(detail.connector) ?? "the ITSM tool"} gave up${attempts(detail)} (dead letter, can be replayed): ${str(detail.error) ?? "no reason given"}`;
    case "evidence_added":
      return `log search results added: ${typeof detail.rows === "number" ? detail.rows : 0} rows from ${str(detail.source) ?? "the Log Analytics API"}${detail.truncated ? " (the query found more)" : ""}`;
    case "evidence_refused":
      return `log search results not fetched: ${str(detail.reason) ?? "the link names a host other than the Log Analytics API"}`;
    case "evidence_failed":
      return `log search results could not be fetched: ${str(detail.reason) ?? "no reason given"}`;
    default:
      return type.replace(/_/g, " ");
  }
}
