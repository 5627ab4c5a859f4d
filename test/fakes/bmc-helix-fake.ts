/**
 * A BMC Helix ITSM stand-in that enforces the documented REST contract (docs/connectors.md#bmc-helix-itsm): AR-JWT login
 * with expiring tokens, the required create values and their enumerations, the error array,
 * Status_Reason plus Resolution to resolve, and work info entries on HPD:WorkLog ("to update work
 * info of an incident", BMC Helix ITSM's platform REST API references): an existing Incident Number,
 * a Work Log Type, a Summary (`Description`) of at most 100 characters, View Access Internal or
 * Public and Secure Work Log Yes or No, as the work info form takes them.
 */
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyReply } from "fastify";
import { installFaults, recordRequests, type Faults, type RecordedRequest } from "./faults.ts";
import { stateFile } from "./state-file.ts";

type Values = Record<string, string>;

const REQUIRED = ["First_Name", "Last_Name", "Description", "Impact", "Urgency", "Status", "Reported Source", "Service_Type"];
const ENUMS: Record<string, readonly string[]> = {
  Impact: ["1-Extensive/Widespread", "2-Significant/Large", "3-Moderate/Limited", "4-Minor/Localized"],
  Urgency: ["1-Critical", "2-High", "3-Medium", "4-Low"],
  Status: ["New", "Assigned", "In Progress", "Pending", "Resolved", "Closed", "Cancelled"],
  Service_Type: ["User Service Restoration", "User Service Request", "Infrastructure Restoration", "Infrastructure Event"],
  "Reported Source": ["Direct Input", "Email", "External Escalation", "Fax", "Self Service", "Systems Management", "Phone", "Voice Mail", "Walk In", "Web", "Other", "BMC Impact Manager Event"],
};

/**
 * Character limits of HPD:IncidentInterface_Create / HPD:IncidentInterface fields. AR System refuses a
 * longer value with ERROR 306 ("Value does not fall within the limits specified for the field").
 * Description (the incident's Summary) holds 100; the long-text fields are held to the 4,000 the
 * connector promises.
 */
const FIELD_MAX: Readonly<Record<string, number>> = { Description: 100, Detailed_Decription: 4000, Resolution: 4000 };

const WORK_LOG_REQUIRED = ["Incident Number", "Work Log Type", "Description"];
const WORK_LOG_ENUMS: Record<string, readonly string[]> = {
  "Work Log Type": ["General Information", "Working Log", "Customer Communication", "Customer Follow-up", "Customer Status Update", "Closure Follow Up", "Email System", "Resolution Communications", "Status Update"],
  "View Access": ["Internal", "Public"],
  "Secure Work Log": ["Yes", "No"],
};
/** The work info's Summary holds 100 characters; its Notes are long text, held to the 4,000 the connector promises. */
const WORK_LOG_MAX: Readonly<Record<string, number>> = { Description: 100, "Detailed Description": 4000 };

function tooLong(values: Record<string, unknown>): string | null {
  for (const [field, max] of Object.entries(FIELD_MAX)) {
    const value = values[field];
    if (typeof value === "string" && value.length > max) return field;
  }
  return null;
}

/** A webhook registered for HPD:IncidentInterface updates, calling back with OAuth 2.0 client credentials (Entra). */
export interface HelixWebhook {
  receiverUrl: string;
  connector: string;
  tokenUrl: string;
  clientId: string;
  scope: string;
}

export interface HelixCallout {
  event: Record<string, string>;
  status: number;
  answer: unknown;
}

export interface BmcHelixFake extends Faults {
  url: string;
  username: string;
  password: string;
  requests: RecordedRequest[];
  incidents(): Values[];
  /** Work info entries (HPD:WorkLog), oldest first: of one incident, or all. */
  workLogs(incidentNumber?: string): Values[];
  expireTokens(): void;
  /** A person changes an incident in Helix: stamped as theirs; a registered webhook calls out. */
  personChanges(incidentNumber: string, change: { user: string; status?: string; statusReason?: string; resolution?: string }): Promise<HelixCallout | null>;
  setWebhook(webhook: HelixWebhook | null): void;
  callouts: HelixCallout[];
  close(): Promise<void>;
}

const errorArray = (status: number, text: string, number = 0) => [{ messageType: "ERROR", messageText: text, messageNumber: number || status, messageAppendedText: "" }];

type Qualification = Array<{ field: string; op: "=" | ">=" | "LIKE"; value: string }>;

/** `'Field'="value" AND 'Other' LIKE "x%" AND 'Date' >= "…"`: the AR System qualifications the connector sends. */
function parseQualification(q: string): Qualification | null {
  const conditions: Qualification = [];
  for (const part of q.split(/\s+AND\s+/i)) {
    const match = /^'([^']+)'\s*(=|>=|LIKE)\s*"((?:[^"]|"")*)"$/i.exec(part.trim());
    if (!match) return null;
    conditions.push({ field: match[1]!, op: match[2]!.toUpperCase() as "=" | ">=" | "LIKE", value: match[3]!.replace(/""/g, '"') });
  }
  return conditions;
}

/** AR System's LIKE: `%` any run, `_` one character. */
function like(value: string, pattern: string): boolean {
  const source = pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/%/g, ".*").replace(/_/g, ".");
  return new RegExp(`^${source}$`).test(value);
}

/** Date-times as the AR REST API writes them: `2022-06-21T11:08:05.000+0000`. */
export const arTime = (ms: number) => new Date(ms).toISOString().replace("Z", "+0000");
const arMs = (value: string) => Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));

function qualifies(values: Values, conditions: Qualification): boolean {
  return conditions.every(({ field, op, value }) => {
    const actual = values[field] ?? "";
    if (op === "=") return actual === value;
    if (op === "LIKE") return like(actual, value);
    return field.endsWith("Date") ? arMs(actual) >= arMs(value) : actual >= value;
  });
}

export async function startBmcHelixFake(options: { tokenTtlSeconds?: number; stateFile?: string; now?: () => number } = {}): Promise<BmcHelixFake> {
  const now = options.now ?? Date.now;
  const callouts: HelixCallout[] = [];
  let webhook: HelixWebhook | null = null;
  const stamp = (values: Values, user: string): Values => ({ ...values, "Last Modified Date": arTime(now()), "Last Modified By": user });
  const username = "integration";
  const password = "helix-secret";
  const tokens = new Map<string, number>();
  const state = stateFile<{ sequence: number; entries: Values[]; workLogs?: Values[] }>(options.stateFile);
  const entries = new Map<string, Values>((state.loaded?.entries ?? []).map((values) => [values["Request ID"]!, values]));
  const workLogs: Values[] = state.loaded?.workLogs ?? [];
  let sequence = state.loaded?.sequence ?? 100;
  const save = () => state.save({ sequence, entries: [...entries.values()], workLogs });

  const app = Fastify({ logger: false });
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_r, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))));
  const faults = installFaults(app, (status, message) => errorArray(status, message));
  const requests = recordRequests(app);
  let url = "";
  const fail = (reply: FastifyReply, status: number, text: string, number = 0) => reply.code(status).send(errorArray(status, text, number));
  const entryView = (values: Values) => ({ values, _links: { self: [{ href: `${url}/api/arsys/v1/entry/HPD:IncidentInterface/${values["Request ID"]}` }] } });

  app.addHook("preHandler", async (request, reply) => {
    if (!request.url.startsWith("/api/arsys/")) return;
    const auth = request.headers.authorization ?? "";
    const expiry = auth.startsWith("AR-JWT ") ? tokens.get(auth.slice(7)) : undefined;
    if (!expiry || expiry <= Date.now()) return fail(reply, 401, "Authentication failed", 623);
    if ((request.method === "POST" || request.method === "PUT") && !String(request.headers["content-type"] ?? "").startsWith("application/json")) {
      return fail(reply, 415, "Content-Type must be application/json");
    }
  });

  app.post("/api/jwt/login", async (request, reply) => {
    if (!String(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) return fail(reply, 415, "Login takes a form");
    const form = (request.body ?? {}) as Record<string, string>;
    if (form.username !== username || form.password !== password) return fail(reply, 401, "Authentication failed", 623);
    const token = randomUUID().replace(/-/g, "");
    tokens.set(token, Date.now() + (options.tokenTtlSeconds ?? 3600) * 1000);
    return reply.type("text/plain").send(token);
  });

  // "::" is a literal colon to the router (one ":" would start a path parameter and take every form).
  app.post("/api/arsys/v1/entry/HPD::IncidentInterface_Create", async (request, reply) => {
    const values = ((request.body ?? {}) as { values?: Record<string, unknown> }).values;
    if (!values || typeof values !== "object") return fail(reply, 400, "Body must be {\"values\": {...}}");
    const missing = REQUIRED.filter((field) => typeof values[field] !== "string" || values[field] === "");
    if (missing.length) return fail(reply, 400, `Required field(s) missing: ${missing.join(", ")}`, 326);
    for (const [field, allowed] of Object.entries(ENUMS)) {
      if (!allowed.includes(values[field] as string)) return fail(reply, 400, `Value for ${field} is not one of its selection values`, 306);
    }
    const long = tooLong(values);
    if (long) return fail(reply, 400, `Value does not fall within the limits specified for the field : ${long}`, 306);
    sequence += 1;
    const stored: Values = stamp(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)])), username);
    stored["Incident Number"] = `INC0000000${sequence}`;
    stored["Request ID"] = `000000000000${sequence}`;
    entries.set(stored["Request ID"]!, stored);
    save();
    const fields = (request.query as Record<string, string | undefined>).fields;
    reply.header("location", `${url}/api/arsys/v1/entry/HPD:IncidentInterface_Create/${stored["Request ID"]}`);
    if (fields !== "values(Incident Number)") return reply.code(201).send();
    return reply.code(201).send({ values: { "Incident Number": stored["Incident Number"] }, _links: { self: [{ href: `${url}/api/arsys/v1/entry/HPD:IncidentInterface_Create/${stored["Request ID"]}` }] } });
  });

  app.get("/api/arsys/v1/entry/HPD:IncidentInterface", async (request, reply) => {
    const { q, sort, limit, offset } = request.query as Record<string, string | undefined>;
    const conditions = q ? parseQualification(q) : [];
    if (!conditions) return fail(reply, 400, `Cannot parse qualification: ${q}`, 1587);
    let found = [...entries.values()].filter((values) => qualifies(values, conditions));
    if (sort) {
      const [field, direction] = sort.split(".");
      found = found.sort((a, b) => (field!.endsWith("Date") ? arMs(a[field!] ?? "") - arMs(b[field!] ?? "") : (a[field!] ?? "").localeCompare(b[field!] ?? "")) * (direction === "desc" ? -1 : 1));
    }
    const start = Number(offset ?? 0);
    found = found.slice(start, limit ? start + Number(limit) : undefined);
    return { entries: found.map(entryView), _links: { self: [{ href: `${url}${request.url}` }] } };
  });

  app.put<{ Params: { id: string } }>("/api/arsys/v1/entry/HPD:IncidentInterface/:id", async (request, reply) => {
    const current = entries.get(request.params.id);
    if (!current) return fail(reply, 404, "Entry not found", 302);
    const values = ((request.body ?? {}) as { values?: Record<string, unknown> }).values ?? {};
    const long = tooLong(values);
    if (long) return fail(reply, 400, `Value does not fall within the limits specified for the field : ${long}`, 306);
    const next: Values = stamp({ ...current, ...Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)])) }, username);
    if (values.Status !== undefined && !ENUMS.Status!.includes(next.Status!)) return fail(reply, 400, "Value for Status is not one of its selection values", 306);
    if (values.Status === "Resolved" && (!next.Status_Reason || !next.Resolution)) return fail(reply, 400, "Status_Reason and Resolution are required to resolve", 1291053);
    entries.set(request.params.id, next);
    save();
    return reply.code(204).send();
  });

  app.post("/api/arsys/v1/entry/HPD::WorkLog", async (request, reply) => {
    const values = ((request.body ?? {}) as { values?: Record<string, unknown> }).values;
    if (!values || typeof values !== "object") return fail(reply, 400, "Body must be {\"values\": {...}}");
    const missing = WORK_LOG_REQUIRED.filter((field) => typeof values[field] !== "string" || values[field] === "");
    if (missing.length) return fail(reply, 400, `Required field(s) missing: ${missing.join(", ")}`, 326);
    for (const [field, allowed] of Object.entries(WORK_LOG_ENUMS)) {
      if (values[field] !== undefined && !allowed.includes(values[field] as string)) return fail(reply, 400, `Value for ${field} is not one of its selection values`, 306);
    }
    for (const [field, max] of Object.entries(WORK_LOG_MAX)) {
      if (typeof values[field] === "string" && (values[field] as string).length > max) return fail(reply, 400, `Value does not fall within the limits specified for the field : ${field}`, 306);
    }
    if (![...entries.values()].some((e) => e["Incident Number"] === values["Incident Number"])) return fail(reply, 400, `No incident ${String(values["Incident Number"])} to add work info to`, 1291044);
    sequence += 1;
    const stored: Values = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
    stored["Work Log ID"] = `WLG0000000${sequence}`;
    workLogs.push(stored);
    save();
    reply.header("location", `${url}/api/arsys/v1/entry/HPD:WorkLog/${stored["Work Log ID"]}`);
    return reply.code(201).send();
  });

  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

  async function callOut(hook: HelixWebhook, before: Values, after: Values, user: string): Promise<HelixCallout> {
    const states: Record<string, string> = { Resolved: "resolved", Closed: "closed", Cancelled: "canceled" };
    const wasDone = Boolean(states[before.Status ?? ""]);
    const state = states[after.Status ?? ""] ?? (wasDone ? "reopened" : "acknowledged");
    const event = { eventId: `${after["Request ID"]}:${after["Last Modified Date"]}`, ticket: after["Incident Number"]!, state, by: user, at: new Date(arMs(after["Last Modified Date"]!)).toISOString(), ...(after.Resolution && state !== "reopened" ? { note: after.Resolution } : {}) };
    const token = await fetch(hook.tokenUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "client_credentials", client_id: hook.clientId, scope: hook.scope }) });
    const { access_token: accessToken } = (await token.json()) as { access_token?: string };
    const response = await fetch(`${hook.receiverUrl}/api/connectors/${encodeURIComponent(hook.connector)}/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${accessToken ?? ""}` },
      body: JSON.stringify(event),
    });
    const callout = { event, status: response.status, answer: await response.json() };
    callouts.push(callout);
    return callout;
  }

  return {
    ...faults,
    url,
    username,
    password,
    requests,
    incidents: () => [...entries.values()],
    workLogs: (incidentNumber) => workLogs.filter((w) => incidentNumber === undefined || w["Incident Number"] === incidentNumber),
    expireTokens: () => tokens.clear(),
    callouts,
    setWebhook(hook) {
      webhook = hook;
    },
    async personChanges(incidentNumber, change) {
      const [id, current] = [...entries.entries()].find(([, v]) => v["Incident Number"] === incidentNumber) ?? [];
      if (!id || !current) throw new Error(`no incident ${incidentNumber}`);
      const next = stamp(
        { ...current, ...(change.status ? { Status: change.status } : {}), ...(change.statusReason ? { Status_Reason: change.statusReason } : {}), ...(change.resolution ? { Resolution: change.resolution } : {}) },
        change.user,
      );
      entries.set(id, next);
      return webhook ? callOut(webhook, current, next, change.user) : null;
    },
    close: () => app.close(),
  };
}
