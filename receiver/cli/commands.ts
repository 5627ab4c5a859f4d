/** The CLI's commands: what each calls on the receiver and how it prints the answer. */
import { readFile } from "node:fs/promises";
import type { Static } from "typebox";
import type { ConfigurationItem, Delivery, Incident, IncidentDetail, Silence } from "../src/http/ledger-schemas.ts";
import type { StatusReport } from "../src/http/status-report.ts";
import type { ReceiverClient } from "./client.ts";
import { CliError, UsageError } from "./errors.ts";
import { fields, table, when } from "./format.ts";
import { checkRulesFile } from "./rules-check.ts";

type IncidentView = Static<typeof Incident>;
type IncidentDetailView = Static<typeof IncidentDetail>;
type DeliveryView = Static<typeof Delivery>;
type CiView = Static<typeof ConfigurationItem>;
type SilenceView = Static<typeof Silence>;
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface OptionSpec {
  type: "string" | "boolean";
  /** Shown in help, e.g. "--state open|resolved". */
  usage: string;
  help: string;
}

export type Values = Record<string, string | boolean | undefined>;

export interface Command {
  /** e.g. ["incidents", "list"], or one word for a command of its own (["status"]). */
  path: [string, string] | [string];
  args: string[];
  summary: string;
  options: Record<string, OptionSpec>;
  run(client: ReceiverClient, args: string[], values: Values, out: (text: string) => void): Promise<void>;
}

const json: Record<string, OptionSpec> = { json: { type: "boolean", usage: "--json", help: "print the receiver's JSON instead of a table" } };
const limit: Record<string, OptionSpec> = { limit: { type: "string", usage: "--limit N", help: "at most N rows (default 50), fetched page by page" } };

const SEVERITIES = ["Sev0", "Sev1", "Sev2", "Sev3", "Sev4"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function oneOf(name: string, value: string | boolean | undefined, allowed: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !allowed.includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, got "${String(value)}"`);
  return value;
}

/** `--since 2h` (s, m, h, d) or a timestamp, as the `from` bound of firedAt. */
export function sinceToTimestamp(value: string, now = Date.now()): string {
  const duration = /^(\d+)([smhd])$/.exec(value);
  if (duration) return new Date(now - Number(duration[1]) * UNIT_MS[duration[2]!]!).toISOString();
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new UsageError(`--since must be a duration like 30m, 2h or 7d, or a timestamp like 2026-11-25T09:00:00Z, got "${value}"`);
  return new Date(at).toISOString();
}

function parseLimit(values: Values): number {
  const raw = values.limit ?? "50";
  const n = Number(raw);
  if (typeof raw !== "string" || !Number.isInteger(n) || n < 1 || n > 10_000) throw new UsageError(`--limit must be a whole number from 1 to 10000, got "${String(raw)}"`);
  return n;
}

/** Follows the keyset cursor until `wanted` items; says whether more remain. */
async function collect<T>(client: ReceiverClient, path: string, query: Record<string, string>, wanted: number): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ ...query, limit: String(Math.min(200, wanted - items.length)), ...(cursor ? { cursor } : {}) });
    const page: Page<T> = await client.call<Page<T>>("GET", `${path}?${params}`, "reader");
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < wanted);
  return { items, more: cursor !== null };
}

function moreHint(shown: number, more: boolean): string {
  return more ? `\n(${shown} shown; more with --limit ${Math.min(10_000, shown * 2)})` : "";
}

/** The ticket as people name it (INC…), and the tool's own id when it differs (a ServiceNow sys_id). */
const ticket = (d: DeliveryView) => [...new Set([d.externalNumber, d.externalId].filter(Boolean))].join(" ") || "-";

const tickets = (deliveries: readonly DeliveryView[]) =>
  deliveries.map((d) => `${d.connector}:${d.status}${d.externalNumber || d.externalId ? ` ${d.externalNumber ?? d.externalId}` : ""}`).join(", ") || "-";

const ciNames = (cis: readonly CiView[]) => cis.map((c) => (c.bound ? c.name : `${c.name} (unbound)`)).join(", ") || "-";

function incidentTable(items: readonly IncidentView[]): string {
  if (items.length === 0) return "No incidents match.";
  return table(items, [
    { header: "ID", value: (i) => i.id },
    { header: "SEV", value: (i) => i.severity ?? "-" },
    { header: "STATE", value: (i) => i.state },
    { header: "FIRED", value: (i) => when(i.firedAt) },
    { header: "TITLE", value: (i) => i.title, shrink: true },
    { header: "CIS", value: (i) => ciNames(i.configurationItems), shrink: true },
    { header: "ITSM", value: (i) => tickets(i.deliveries), shrink: true },
  ]);
}

function deliveryTable(items: readonly DeliveryView[], withIncident: boolean): string {
  return table(items, [
    { header: "ID", value: (d) => d.id },
    ...(withIncident ? [{ header: "INCIDENT", value: (d: DeliveryView) => d.incidentId }] : []),
    { header: "CONNECTOR", value: (d) => d.connector },
    { header: "ACTION", value: (d) => d.action },
    { header: "STATUS", value: (d) => d.status },
    { header: "TICKET", value: ticket },
    { header: "ATTEMPTS", value: (d) => String(d.attempts) },
    { header: "LAST ERROR", value: (d) => d.lastError ?? "-", shrink: true },
  ]);
}

function incidentDetail(incident: IncidentDetailView): string {
  const sections = [
    fields([
      ["Incident", incident.id],
      ["Title", incident.title],
      ["State", `${incident.state}${incident.resolution ? ` (by ${incident.resolution.replace("_", " ")})` : ""}`],
      ["Severity", incident.severity ?? "-"],
      ["Fired", when(incident.firedAt)],
      ["Resolved", when(incident.resolvedAt)],
      ["Alert rule", incident.alertRule ?? "-"],
      ["Monitoring", `${incident.monitoringService}${incident.signalType ? ` (${incident.signalType})` : ""}`],
      ["Alert id", incident.alertId],
      ...(incident.description ? [["Description", incident.description] as const] : []),
    ]),
    "",
    "Configuration items",
    incident.configurationItems.length
      ? table(incident.configurationItems, [
          { header: "NAME", value: (c) => c.name },
          { header: "BOUND", value: (c) => (c.bound ? "yes" : "no") },
          { header: "RESOURCE", value: (c) => c.resourceId ?? "-", shrink: true },
        ])
      : "  none",
    "",
    "ITSM deliveries",
    incident.deliveries.length ? deliveryTable(incident.deliveries, false) : "  none (no ITSM connector configured)",
    "",
    "Timeline",
    table(incident.timeline, [
      { header: "AT", value: (e) => when(e.at) },
      { header: "WHAT", value: (e) => e.summary, shrink: true },
    ]),
  ];
  return sections.join("\n");
}

/** "resolved at … by …", from the incident's last resolution in its timeline. */
function resolvedHow(incident: IncidentDetailView): string {
  const event = incident.timeline.filter((e) => e.type === "resolved").at(-1);
  return `${event?.summary ?? "resolved"} (${when(incident.resolvedAt)})`;
}

async function findIncident(client: ReceiverClient, idOrAlertId: string): Promise<IncidentDetailView> {
  if (UUID.test(idOrAlertId)) return client.call<IncidentDetailView>("GET", `/api/incidents/${idOrAlertId}`, "reader");
  // An Azure alertId (an ARM id) names the same incident; people paste either.
  const page = await client.call<Page<IncidentView>>("GET", `/api/incidents?${new URLSearchParams({ alertId: idOrAlertId, limit: "1" })}`, "reader");
  const found = page.items[0];
  if (!found) throw new CliError(`no incident has id or alertId "${idOrAlertId}"`);
  return client.call<IncidentDetailView>("GET", `/api/incidents/${found.id}`, "reader");
}

const SILENCE_STATES = ["active", "pending", "expired"];

/** `--alert-rule a,b` and the like: the match a silence names, each flag a list. */
const MATCH_FLAGS: Record<string, { key: string; usage: string }> = {
  "alert-rule": { key: "alertRules", usage: "--alert-rule NAME[,NAME]" },
  subscription: { key: "subscriptions", usage: "--subscription ID[,ID]" },
  "resource-group": { key: "resourceGroups", usage: "--resource-group NAME[,NAME]" },
  "resource-type": { key: "resourceTypes", usage: "--resource-type TYPE[,TYPE]" },
  severity: { key: "severities", usage: "--severity Sev0[,Sev1]" },
  "monitoring-service": { key: "monitoringServices", usage: "--monitoring-service NAME[,NAME]" },
};

function silenceMatch(values: Values): Record<string, unknown> {
  let match: Record<string, unknown> = {};
  if (typeof values.match === "string") {
    try {
      match = JSON.parse(values.match) as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`--match must be a JSON object such as '{"alertRules":["cpu-high"]}': ${(error as Error).message}`);
    }
    if (typeof match !== "object" || match === null || Array.isArray(match)) throw new UsageError("--match must be a JSON object");
  }
  for (const [flag, { key }] of Object.entries(MATCH_FLAGS)) {
    const value = values[flag];
    if (typeof value === "string") match[key] = value.split(",").map((v) => v.trim()).filter(Boolean);
  }
  if (Object.keys(match).length === 0) throw new UsageError(`say what to silence: ${Object.values(MATCH_FLAGS).map((f) => f.usage.split(" ")[0]).join(", ")} or --match JSON`);
  return match;
}

function silenceTable(items: readonly SilenceView[]): string {
  return table(items, [
    { header: "ID", value: (s) => s.id },
    { header: "STATE", value: (s) => s.state },
    { header: "STARTS", value: (s) => when(s.startsAt) },
    { header: "ENDS", value: (s) => when(s.endsAt) },
    { header: "BY", value: (s) => s.createdBy },
    { header: "MATCH", value: (s) => JSON.stringify(s.match), shrink: true },
    { header: "COMMENT", value: (s) => s.comment, shrink: true },
  ]);
}

function requireArg(args: string[], name: string): string {
  const value = args[0];
  if (!value) throw new UsageError(`missing <${name}>`);
  if (args.length > 1) throw new UsageError(`unexpected argument "${args[1]}"`);
  return value;
}

const print = (out: (text: string) => void, values: Values, data: unknown, human: () => string) => out(values.json ? JSON.stringify(data, null, 2) : human());

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** `secure-export status` for people: a summary, the connectors and credentials as tables, then the problems. */
export function statusText(s: StatusReport): string {
  const hb = s.heartbeat;
  const r = s.rules;
  const sections = [
    fields([
      ["receiver", `secure-export ${s.version}, ${s.healthy ? "healthy" : "UNHEALTHY"} (checked ${when(s.checkedAt)})`],
      ["store", `${s.store.kind}, ${s.store.reachable ? "reachable" : `unreachable: ${s.store.detail ?? "unknown"}`}`],
      [
        "heartbeat",
        !hb.enabled
          ? "off"
          : !hb.known
            ? `UNKNOWN: ${hb.detail}`
            : `${hb.healthy ? "ok" : `MISSING since ${when(hb.missingSince)}`}; last sent ${when(hb.lastSentAt)}, last received ${when(hb.lastReceivedAt)}${hb.verdict ? `, Azure: ${hb.verdict}` : ""}${hb.lastSendError ? `; last request failed: ${hb.lastSendError}` : ""}`,
      ],
      [
        "rules",
        r.inEffect
          ? `${plural(r.admissionRules, "admission rule")}, ${plural(r.routes, "route")}, ${plural(r.maintenanceWindows, "maintenance window")}, ${plural(r.noiseRules, "noise rule")}, ${plural(r.stormGuards, "storm guard")}`
          : "none (every alert admitted, to every connector)",
      ],
      ["silences", r.silencesInForce === null ? "unknown (store unreachable)" : `${r.silencesInForce} in force`],
    ]),
    s.connectors.length
      ? table(s.connectors, [
          { header: "CONNECTOR", value: (c) => c.name },
          { header: "KIND", value: (c) => c.kind },
          { header: "STATE", value: (c) => c.state },
          { header: "LAST SUCCESS", value: (c) => when(c.lastSuccessAt) },
          { header: "LAST FAILURE", value: (c) => when(c.lastFailureAt) },
          { header: "QUEUED", value: (c) => (c.queueDepth === null ? "-" : String(c.queueDepth)) },
          { header: "DEAD", value: (c) => (c.deadLetters === null ? "-" : String(c.deadLetters)) },
          { header: "DETAIL", value: (c) => c.detail, shrink: true },
        ])
      : "No ITSM connector configured.",
    s.credentials.items.length
      ? table(s.credentials.items, [
          { header: "CONNECTOR", value: (c) => c.connector },
          { header: "CREDENTIAL", value: (c) => c.credential },
          { header: "EXPIRES", value: (c) => (c.expiresAt ? when(c.expiresAt) : "not set") },
          { header: "DAYS LEFT", value: (c) => (c.daysLeft === null ? "-" : String(c.daysLeft)) },
          { header: "STATE", value: (c) => (c.state === "unknown" ? "unknown (set credentialExpiresAt)" : c.state) },
        ])
      : "",
    s.problems.length ? ["Problems:", ...s.problems.map((p) => `  - ${p}`)].join("\n") : "",
  ];
  return sections.filter(Boolean).join("\n\n");
}

export const COMMANDS: Command[] = [
  {
    path: ["status"],
    args: [],
    summary: "The receiver at a glance: store, connectors, heartbeat, credential expiry, rules; exit code 3 when something needs a person",
    options: { ...json },
    async run(client, _args, values, out) {
      const status = await client.call<StatusReport>("GET", "/api/status", "reader");
      print(out, values, status, () => statusText(status));
      if (!status.healthy) throw new CliError(`unhealthy: ${plural(status.problems.length, "problem")}`, 3);
    },
  },
  {
    path: ["incidents", "list"],
    args: [],
    summary: "List incidents, newest first",
    options: {
      state: { type: "string", usage: "--state open|resolved", help: "only incidents in this state" },
      severity: { type: "string", usage: "--severity Sev0..Sev4", help: "only this severity" },
      ci: { type: "string", usage: "--ci ID", help: "only incidents bound to this configuration item (CI id or ARM resource id)" },
      since: { type: "string", usage: "--since 2h|7d|TIMESTAMP", help: "only incidents fired since then" },
      ...limit,
      ...json,
    },
    async run(client, args, values, out) {
      if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
      const query: Record<string, string> = {};
      const state = oneOf("state", values.state, ["open", "resolved"]);
      const severity = oneOf("severity", values.severity, SEVERITIES);
      if (state) query.state = state;
      if (severity) query.severity = severity;
      if (typeof values.ci === "string") query.ci = values.ci;
      if (typeof values.since === "string") query.from = sinceToTimestamp(values.since);
      const { items, more } = await collect<IncidentView>(client, "/api/incidents", query, parseLimit(values));
      print(out, values, items, () => incidentTable(items) + moreHint(items.length, more));
    },
  },
  {
    path: ["incidents", "show"],
    args: ["<id>"],
    summary: "One incident: its timeline, configuration items and ITSM deliveries (id or Azure alertId)",
    options: { ...json },
    async run(client, args, values, out) {
      const incident = await findIncident(client, requireArg(args, "id"));
      print(out, values, incident, () => incidentDetail(incident));
    },
  },
  {
    path: ["incidents", "resolve"],
    args: ["<id>"],
    summary: "Resolve an incident (its tickets are resolved, and its Azure alert is closed unless AZURE_ALERT_SYNC=off)",
    options: { note: { type: "string", usage: "--note TEXT", help: "why; recorded in the timeline and sent to the ITSM tools" }, ...json },
    async run(client, args, values, out) {
      const incident = await findIncident(client, requireArg(args, "id"));
      // Resolving is idempotent, so the answer alone cannot tell "resolved now" from "already was".
      if (incident.state === "resolved") return print(out, values, incident, () => `${incident.id} (${incident.title}) was already ${resolvedHow(incident)}; nothing changed.`);
      const resolved = await client.call<IncidentDetailView>("POST", `/api/incidents/${incident.id}/resolve`, "operator", typeof values.note === "string" ? { note: values.note } : {});
      print(out, values, resolved, () => `Resolved ${resolved.id} (${resolved.title}).${resolved.deliveries.length ? ` The ITSM tools are told: ${tickets(resolved.deliveries)}.` : ""}`);
    },
  },
  {
    path: ["incidents", "ack"],
    args: ["<id>"],
    summary: "Acknowledge an open incident: its tickets get a work note, its Azure alert becomes Acknowledged",
    options: { note: { type: "string", usage: "--note TEXT", help: "recorded in the timeline and sent with the acknowledgement" }, ...json },
    async run(client, args, values, out) {
      const id = requireArg(args, "id");
      const incident = UUID.test(id) ? { id } : await findIncident(client, id);
      const acked = await client.call<IncidentDetailView>("POST", `/api/incidents/${incident.id}/acknowledge`, "operator", typeof values.note === "string" ? { note: values.note } : {});
      const already = acked.state === "resolved" ? " It is resolved already, so nothing was sent." : acked.deliveries.length ? ` The ITSM tools are told: ${tickets(acked.deliveries)}.` : "";
      print(out, values, acked, () => `Acknowledged ${acked.id} (${acked.title}).${already}`);
    },
  },
  {
    path: ["incidents", "comment"],
    args: ["<id>", "<text>"],
    summary: "Comment on an incident: the timeline has it and its tickets get it as a work note",
    options: { ...json },
    async run(client, args, values, out) {
      const [id, text, extra] = args;
      if (!id) throw new UsageError("missing <id>");
      if (!text) throw new UsageError("incidents comment needs the text, e.g. incidents comment <id> \"disk full on vm1\"");
      if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" (quote the comment)`);
      const incident = UUID.test(id) ? { id } : await findIncident(client, id);
      const commented = await client.call<IncidentDetailView>("POST", `/api/incidents/${incident.id}/comment`, "operator", { note: text });
      print(out, values, commented, () => `Commented on ${commented.id} (${commented.title}).${commented.deliveries.length ? ` The ITSM tools are told: ${tickets(commented.deliveries)}.` : ""}`);
    },
  },
  {
    path: ["deliveries", "list"],
    args: [],
    summary: "List ITSM deliveries (the outbox); --status dead shows the dead letters",
    options: {
      status: { type: "string", usage: "--status pending|delivered|dead", help: "only deliveries in this status" },
      incident: { type: "string", usage: "--incident ID", help: "only deliveries of this incident" },
      ...limit,
      ...json,
    },
    async run(client, args, values, out) {
      if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
      const query: Record<string, string> = {};
      const status = oneOf("status", values.status, ["pending", "delivered", "dead"]);
      if (status) query.status = status;
      if (typeof values.incident === "string") query.incidentId = values.incident;
      const { items, more } = await collect<DeliveryView>(client, "/api/deliveries", query, parseLimit(values));
      print(out, values, items, () => (items.length ? deliveryTable(items, true) : status === "dead" ? "No dead letters." : "No deliveries match.") + moreHint(items.length, more));
    },
  },
  {
    path: ["deliveries", "retry"],
    args: ["<id>"],
    summary: "Replay a dead-lettered delivery",
    options: { ...json },
    async run(client, args, values, out) {
      const delivery = await client.call<DeliveryView>("POST", `/api/deliveries/${encodeURIComponent(requireArg(args, "id"))}/retry`, "operator");
      print(out, values, delivery, () => `Delivery ${delivery.id} (${delivery.connector} ${delivery.action}) is ${delivery.status} again; the outbox retries it now.`);
    },
  },
  {
    path: ["cis", "list"],
    args: [],
    summary: "List configuration items; --unbound shows names Azure sent without a resource id",
    options: { unbound: { type: "boolean", usage: "--unbound", help: "only CIs that could not be bound to an Azure resource" }, ...limit, ...json },
    async run(client, args, values, out) {
      if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
      const { items, more } = await collect<CiView>(client, "/api/cis", values.unbound ? { bound: "false" } : {}, parseLimit(values));
      const human = () =>
        items.length
          ? table(items, [
              { header: "ID", value: (c) => c.id },
              { header: "NAME", value: (c) => c.name },
              { header: "OPEN", value: (c) => String(c.openIncidents) },
              { header: "LAST SEEN", value: (c) => when(c.lastSeenAt) },
              { header: "RESOURCE", value: (c) => c.resourceId ?? "(unbound)", shrink: true },
            ]) + moreHint(items.length, more)
          : values.unbound ? "No unbound configuration items." : "No configuration items yet.";
      print(out, values, items, human);
    },
  },
  {
    path: ["rules", "check"],
    args: ["<file>"],
    summary: "Check a routing rules file offline, with the receiver's own checker (like amtool check-config)",
    options: {},
    async run(_client, args, _values, out) {
      const file = requireArg(args, "file");
      const problems = checkRulesFile(file, process.env);
      // The receiver's own words, as start-up would print them with ROUTING_RULES_FILE=<file>.
      if (problems) throw new CliError(problems);
      out(`${file}: valid; the receiver would start with ROUTING_RULES_FILE=${file}.`);
    },
  },
  {
    path: ["routing", "explain"],
    args: ["<alert.json>"],
    summary: "Ask the receiver whether an alert would be admitted by its routing rules, and why",
    options: { ...json },
    async run(client, args, values, out) {
      const file = requireArg(args, "alert.json");
      const text = await readFile(file, "utf8").catch((error: Error) => {
        throw new CliError(`cannot read ${file}: ${error.message}`);
      });
      try {
        JSON.parse(text);
      } catch (error) {
        throw new CliError(`${file} is not JSON: ${(error as Error).message}`);
      }
      let answer: { admitted: boolean; explanation: string[] };
      try {
        answer = await client.call("POST", "/api/routing/explain", "reader", text);
      } catch (error) {
        if (error instanceof CliError && /POST \/api\/routing\/explain not found/.test(error.message)) {
          throw new CliError(`this receiver has no routing rules endpoint (POST /api/routing/explain answered 404); it predates routing`);
        }
        throw error;
      }
      print(out, values, answer, () => [answer.admitted ? "admitted" : "not admitted", ...answer.explanation.map((line) => `  ${line}`)].join("\n"));
    },
  },
  {
    path: ["silences", "add"],
    args: [],
    summary: "Silence matching alerts for a while: their new incidents are held, sent when it ends if still open (like amtool silence add)",
    options: {
      ...Object.fromEntries(Object.entries(MATCH_FLAGS).map(([flag, { usage, key }]) => [flag, { type: "string" as const, usage, help: `match ${key} (comma-separated, wildcards * and ?)` }])),
      match: { type: "string", usage: "--match JSON", help: "the whole match as the routing rules write it, e.g. '{\"customProperties\":{\"team\":\"web\"}}'" },
      duration: { type: "string", usage: "--duration 2h", help: "how long (default 1h, like amtool): 30m, 2h, 1d" },
      "ends-at": { type: "string", usage: "--ends-at TIME", help: "when it ends instead of --duration, e.g. 2026-11-25T18:00:00Z" },
      "starts-at": { type: "string", usage: "--starts-at TIME", help: "when it starts (default now)" },
      comment: { type: "string", usage: "--comment TEXT", help: "why (required: the console and the timeline show it)" },
      ...json,
    },
    async run(client, args, values, out) {
      if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
      if (typeof values.comment !== "string" || !values.comment.trim()) throw new UsageError("--comment is required: say why, for whoever finds the silence");
      if (values["ends-at"] !== undefined && values.duration !== undefined) throw new UsageError("give --duration or --ends-at, not both");
      const body = {
        match: silenceMatch(values),
        comment: values.comment,
        ...(typeof values["starts-at"] === "string" ? { startsAt: values["starts-at"] } : {}),
        ...(typeof values["ends-at"] === "string" ? { endsAt: values["ends-at"] } : { duration: typeof values.duration === "string" ? values.duration : "1h" }),
      };
      const silence = await client.call<SilenceView>("POST", "/api/silences", "operator", body);
      print(out, values, silence, () => `silence ${silence.id} ${silence.state}: ${when(silence.startsAt)} to ${when(silence.endsAt)}\nexpire it early with: secure-export silences expire ${silence.id}`);
    },
  },
  {
    path: ["silences", "list"],
    args: [],
    summary: "List silences, newest first",
    options: { state: { type: "string", usage: "--state active|pending|expired", help: "only these" }, ...limit, ...json },
    async run(client, args, values, out) {
      if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
      const state = oneOf("state", values.state, SILENCE_STATES);
      const { items, more } = await collect<SilenceView>(client, "/api/silences", state ? { state } : {}, parseLimit(values));
      print(out, values, items, () => (items.length ? silenceTable(items) + moreHint(items.length, more) : state ? `No ${state} silences.` : "No silences."));
    },
  },
  {
    path: ["silences", "expire"],
    args: ["<id>"],
    summary: "End a silence now: what it held is sent if still open (like amtool silence expire)",
    options: { ...json },
    async run(client, args, values, out) {
      const id = requireArg(args, "id");
      if (!UUID.test(id)) throw new UsageError(`<id> must be a silence id (a UUID), got "${id}"`);
      const answer = await client.call<{ silence: SilenceView; released: number }>("DELETE", `/api/silences/${id}`, "operator");
      print(out, values, answer, () => `silence ${id} expired at ${when(answer.silence.endsAt)}; ${answer.released} held incident${answer.released === 1 ? "" : "s"} released (sent within seconds if still open)`);
    },
  },
];
