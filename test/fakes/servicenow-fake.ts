/**
 * A ServiceNow stand-in that enforces the documented contract (docs/connectors.md#servicenow) strictly enough that
 * a connector cutting corners fails: JSON headers, auth (basic or OAuth client credentials with
 * expiring tokens), required fields, close_code/close_notes to resolve, the error envelope, 429,
 * and — like the real thing — queries on unknown fields silently ignored. `work_notes` and
 * `comments` are journal fields: each write adds an entry to the incident's activity (sys_journal_field)
 * instead of replacing a value, and an empty one adds nothing.
 */
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { installFaults, recordRequests, type Faults, type RecordedRequest } from "./faults.ts";
import { stateFile } from "./state-file.ts";

type Row = Record<string, string>;

const INCIDENT_FIELDS = new Set([
  "number", "sys_id", "short_description", "description", "urgency", "impact", "state", "correlation_id", "correlation_display",
  "cmdb_ci", "close_code", "close_notes", "caller_id", "category", "assignment_group", "work_notes", "comments",
  "sys_updated_on", "sys_updated_by", "sys_mod_count", "assigned_to",
]);
/** Fields the instance keeps itself: a client's value for them is ignored. */
const SYSTEM_FIELDS = new Set(["sys_id", "number", "sys_updated_on", "sys_updated_by", "sys_mod_count"]);

/** ServiceNow's date-time values as the REST API answers them (sysparm_display_value=false): `yyyy-MM-dd HH:mm:ss`, UTC. */
export const serviceNowTime = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);

/**
 * Field lengths from ServiceNow's documentation. A real instance cuts a longer value silently; the fake
 * refuses it, so a connector that sends one fails a test instead of losing the end of a field.
 * Incident: short_description 160, correlation_id 100, correlation_display 100 (the incident
 * dictionary), description, close_notes and work_notes 4,000. em_event ("Event field format for event
 * collection"): source, node, type, resource 100, message_key 1,024, ci_type 1,000; event_class and
 * metric_name are held to 100 and description to 4,000 as the connector promises.
 */
const INCIDENT_MAX: Readonly<Record<string, number>> = { short_description: 160, correlation_id: 100, correlation_display: 100, description: 4000, close_notes: 4000, work_notes: 4000 };
const EVENT_MAX: Readonly<Record<string, number>> = { source: 100, node: 100, type: 100, resource: 100, message_key: 1024, ci_type: 1000, event_class: 100, metric_name: 100, description: 4000 };

/** The first field longer than its limit. */
function fieldProblem(record: Record<string, unknown>, limits: Readonly<Record<string, number>>): string | null {
  for (const [field, max] of Object.entries(limits)) {
    const value = record[field];
    if (typeof value === "string" && value.length > max) return `${field} exceeds ${max} characters (${value.length})`;
  }
  return null;
}

/**
 * The instance's side of the closed loop, as the docs set it up (docs/connectors.md#servicenow-closed-loop):
 * a Business Rule on incident (after update, async) that calls RESTMessageV2 with an OAuth 2.0
 * profile whose provider is Entra (client credentials, scope `api://…/.default`), no MID Server.
 */
export interface BusinessRule {
  /** The receiver's base URL and the connector's name there. */
  receiverUrl: string;
  connector: string;
  /** Entra's token endpoint (the OAuth provider's Token URL). */
  tokenUrl: string;
  clientId: string;
  /** Under "OAuth Entity Profile Scopes"; without it Entra answers AADSTS90014. */
  scope?: string;
}

export interface Callout {
  event: Record<string, string>;
  /** The token request's answer when it failed; the receiver's answer otherwise. */
  tokenStatus: number;
  tokenError?: string;
  status?: number;
  answer?: unknown;
}

export interface PersonChange {
  user: string;
  /** "6" resolved, "7" closed, "8" canceled, "2" (in progress) to reopen. */
  state?: string;
  closeCode?: string;
  closeNotes?: string;
  workNote?: string;
  assignedTo?: string;
}

export interface ServiceNowFake extends Faults {
  url: string;
  username: string;
  password: string;
  clientId: string;
  clientSecret: string;
  requests: RecordedRequest[];
  incidents(): Row[];
  /** The journal entries (work notes) written to an incident, oldest first. */
  workNotes(sysId: string): string[];
  events(): Row[];
  /** The latest severity per message_key ("0" = closed). */
  alertSeverities(): Map<string, string>;
  addCi(ci: { name: string; object_id: string; sys_class_name?: string }): string;
  expireTokens(): void;
  /** A person changes a ticket in the instance's UI: it is stamped as theirs, and the Business Rule (if any) calls out. */
  personChanges(sysId: string, change: PersonChange): Promise<Callout | null>;
  setBusinessRule(rule: BusinessRule | null): void;
  callouts: Callout[];
  close(): Promise<void>;
}

const envelope = (status: number, message: string, detail = "") => ({ error: { message, detail }, status: "failure" });

type Operator = "=" | "!=" | ">=" | "<=" | ">" | "<" | "STARTSWITH" | "IN";
interface Condition {
  field: string;
  op: Operator;
  values: string[];
}

/**
 * `a=b^cINx,y^d>=v^eSTARTSWITHp^ORDERBYf`: ServiceNow's encoded query, with the operators the
 * connector uses (=, !=, >=, <=, >, <, STARTSWITH, IN with a comma-separated list) and ORDERBY /
 * ORDERBYDESC. Any other part is dropped, as an unknown field's condition is.
 */
function parseQuery(query: string | undefined): { conditions: Condition[]; order: Array<{ field: string; desc: boolean }> } {
  const conditions: Condition[] = [];
  const order: Array<{ field: string; desc: boolean }> = [];
  for (const part of query ? query.split("^") : []) {
    const ordering = /^ORDERBY(DESC)?([a-z0-9_]+)$/.exec(part);
    if (ordering) {
      order.push({ field: ordering[2]!, desc: Boolean(ordering[1]) });
      continue;
    }
    const m = /^([a-z0-9_]+?)(>=|<=|!=|=|>|<|STARTSWITH|IN)(.*)$/.exec(part);
    if (m) conditions.push({ field: m[1]!, op: m[2] as Operator, values: m[2] === "IN" ? m[3]!.split(",") : [m[3]!] });
  }
  return { conditions, order };
}

function holds(actual: string, op: Operator, values: readonly string[]): boolean {
  const a = actual.toLowerCase();
  const v = (values[0] ?? "").toLowerCase();
  switch (op) {
    case "=":
      return a === v;
    case "!=":
      return a !== v;
    case ">=":
      return a >= v;
    case "<=":
      return a <= v;
    case ">":
      return a > v;
    case "<":
      return a < v;
    case "STARTSWITH":
      return a.startsWith(v);
    case "IN":
      return values.some((value) => a === value.toLowerCase());
  }
}

function matches(row: Row, conditions: readonly Condition[], knownFields: (field: string) => boolean): boolean {
  // An unknown field's condition is dropped, not failed: the real instance returns unrelated rows.
  return conditions.filter((c) => knownFields(c.field)).every((c) => holds(row[c.field] ?? "", c.op, c.values));
}

function sortRows(rows: Row[], order: ReadonlyArray<{ field: string; desc: boolean }>): Row[] {
  return [...rows].sort((x, y) => {
    for (const { field, desc } of order) {
      const a = x[field] ?? "";
      const b = y[field] ?? "";
      if (a !== b) return (a < b ? -1 : 1) * (desc ? -1 : 1);
    }
    return 0;
  });
}

function select(row: Row, fields: string | undefined): Row {
  if (!fields) return row;
  return Object.fromEntries(fields.split(",").filter((f) => f in row).map((f) => [f, row[f]!]));
}

interface ServiceNowState {
  sequence: number;
  incidents: Row[];
  cis: Row[];
  events: Row[];
  /** Work notes per incident (optional: state files written before they were kept have none). */
  journal?: Array<[string, Array<{ element: string; value: string }>]>;
}

export async function startServiceNowFake(options: { tokenTtlSeconds?: number; stateFile?: string; now?: () => number } = {}): Promise<ServiceNowFake> {
  const now = options.now ?? Date.now;
  const callouts: Callout[] = [];
  let businessRule: BusinessRule | null = null;
  /** Every write stamps the record as the instance does: who, when, one more modification. */
  const stamp = (row: Row, user: string): Row => ({ ...row, sys_updated_on: serviceNowTime(now()), sys_updated_by: user, sys_mod_count: String(Number(row.sys_mod_count ?? "0") + 1) });
  const addNote = (sysId: string, note: string | undefined) => {
    if (note?.trim()) journal.set(sysId, [...(journal.get(sysId) ?? []), { element: "work_notes", value: note }]);
  };
  const username = "admin";
  const password = "secret";
  const clientId = "secure-export";
  const clientSecret = "client-secret";
  const state = stateFile<ServiceNowState>(options.stateFile);
  const incidents = new Map<string, Row>((state.loaded?.incidents ?? []).map((row) => [row.sys_id!, row]));
  const cis: Row[] = state.loaded?.cis ?? [];
  const events: Row[] = state.loaded?.events ?? [];
  const journal = new Map<string, Array<{ element: string; value: string }>>(state.loaded?.journal ?? []);
  const tokens = new Map<string, number>();
  let sequence = state.loaded?.sequence ?? 10_000;
  const save = () => state.save({ sequence, incidents: [...incidents.values()], cis, events, journal: [...journal] });
  const JOURNAL = new Set(["work_notes", "comments"]);
  /** Journal fields go to the journal, never into the row. */
  const write = (sysId: string, row: Row, body: Record<string, unknown>) => {
    for (const [field, value] of Object.entries(body)) {
      if (!INCIDENT_FIELDS.has(field) || SYSTEM_FIELDS.has(field)) continue;
      if (JOURNAL.has(field)) {
        if (String(value).trim()) journal.set(sysId, [...(journal.get(sysId) ?? []), { element: field, value: String(value) }]);
      } else row[field] = String(value);
    }
  };

  const app = Fastify({ logger: false });
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_r, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))));
  const faults = installFaults(app, (status, message) => envelope(status, message));
  const requests = recordRequests(app);
  const fail = (reply: FastifyReply, status: number, message: string, detail = "") => reply.code(status).send(envelope(status, message, detail));

  app.addHook("preHandler", async (request, reply) => {
    if (request.url.startsWith("/oauth_token.do")) return;
    const auth = request.headers.authorization ?? "";
    const basicOk = auth === `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    const bearer = auth.startsWith("Bearer ") ? tokens.get(auth.slice(7)) : undefined;
    if (!basicOk && !(bearer && bearer > Date.now())) return fail(reply, 401, "User Not Authenticated", "Required to provide Auth information");
    if (!String(request.headers.accept ?? "").includes("application/json")) return fail(reply, 406, "Not Acceptable", "Send Accept: application/json");
    if ((request.method === "POST" || request.method === "PATCH") && !String(request.headers["content-type"] ?? "").startsWith("application/json")) {
      return fail(reply, 415, "Unsupported Media Type", "Send Content-Type: application/json");
    }
  });

  app.post("/oauth_token.do", async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, string>;
    if (form.grant_type !== "client_credentials" || form.client_id !== clientId || form.client_secret !== clientSecret) {
      return reply.code(401).send({ error: "access_denied", error_description: "access_denied" });
    }
    const token = randomUUID();
    const ttl = options.tokenTtlSeconds ?? 1800;
    tokens.set(token, Date.now() + ttl * 1000);
    return { access_token: token, token_type: "Bearer", expires_in: ttl, scope: "useraccount" };
  });

  app.post("/api/now/table/incident", async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof body.short_description !== "string" || !body.short_description) return fail(reply, 400, "Data Policy Exception: Short description is mandatory");
    const problem = fieldProblem(body, INCIDENT_MAX);
    if (problem) return fail(reply, 400, problem);
    sequence += 1;
    let row: Row = { state: "1", sys_id: randomUUID().replace(/-/g, ""), number: `INC00${sequence}`, sys_mod_count: "-1" };
    write(row.sys_id!, row, body);
    row = stamp(row, username);
    incidents.set(row.sys_id!, row);
    save();
    return reply.code(201).send({ result: row });
  });

  app.get("/api/now/table/incident", async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const { conditions, order } = parseQuery(q.sysparm_query);
    const rows = sortRows([...incidents.values()].filter((row) => matches(row, conditions, (f) => INCIDENT_FIELDS.has(f))), order);
    const offset = Number(q.sysparm_offset ?? 0);
    return { result: rows.slice(offset, offset + Number(q.sysparm_limit ?? 10_000)).map((r) => select(r, q.sysparm_fields)) };
  });

  app.get<{ Params: { id: string } }>("/api/now/table/incident/:id", async (request, reply) => {
    const row = incidents.get(request.params.id);
    return row ? { result: row } : fail(reply, 404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval");
  });

  app.patch<{ Params: { id: string } }>("/api/now/table/incident/:id", async (request, reply) => {
    const row = incidents.get(request.params.id);
    if (!row) return fail(reply, 404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval");
    const body = (request.body ?? {}) as Record<string, unknown>;
    const problem = fieldProblem(body, INCIDENT_MAX);
    if (problem) return fail(reply, 400, problem);
    let next: Row = { ...row };
    const before = journal.get(row.sys_id!);
    write(row.sys_id!, next, body);
    next = stamp(next, request.headers.authorization?.startsWith("Basic ") ? username : "secure-export.integration");
    if (next.state === "6" && (!next.close_code || !next.close_notes)) {
      if (before) journal.set(row.sys_id!, before);
      else journal.delete(row.sys_id!);
      return fail(reply, 400, "Data Policy Exception: Resolution code and Resolution notes are mandatory when resolving");
    }
    incidents.set(row.sys_id!, next);
    save();
    return { result: next };
  });

  app.get<{ Params: { table: string } }>("/api/now/table/:table", async (request, reply) => {
    if (request.params.table === "sys_user") return { result: [{ sys_id: "6816f79cc0a8016401c5a33be04be441" }].map((r) => select(r, (request.query as Record<string, string | undefined>).sysparm_fields)) };
    if (!request.params.table.startsWith("cmdb_ci")) return fail(reply, 400, "Invalid table", request.params.table);
    const q = request.query as Record<string, string | undefined>;
    const { conditions } = parseQuery(q.sysparm_query);
    const rows = cis.filter((ci) => (request.params.table === "cmdb_ci" || ci.sys_class_name === request.params.table) && matches(ci, conditions, (f) => ["name", "object_id", "sys_id", "sys_class_name"].includes(f)));
    return { result: rows.slice(0, Number(q.sysparm_limit ?? 10_000)).map((r) => select(r, q.sysparm_fields)) };
  });

  app.post("/api/global/em/jsonv2", async (request: FastifyRequest, reply) => {
    const records = (request.body as { records?: unknown })?.records;
    if (!Array.isArray(records) || records.length === 0) return fail(reply, 400, "records must be a non-empty array");
    for (const record of records as Array<Record<string, unknown>>) {
      if (typeof record.source !== "string" || !record.source) return fail(reply, 400, "source is mandatory");
      if (typeof record.severity !== "string" || !/^[0-5]$/.test(record.severity)) return fail(reply, 400, "severity must be \"0\" to \"5\"");
      if (record.additional_info !== undefined && typeof record.additional_info !== "string") return fail(reply, 400, "additional_info must be a JSON string");
      const { additional_info: info, ...fields } = record;
      const problem = fieldProblem(fields, EVENT_MAX);
      if (problem) return fail(reply, 400, problem);
      if (typeof info === "string") {
        let parsed: unknown;
        try {
          parsed = JSON.parse(info);
        } catch {
          return fail(reply, 400, "additional_info is not valid JSON");
        }
        // Key/value pairs with string values: arrays and objects are not supported there.
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return fail(reply, 400, "additional_info must be a JSON object");
        const nonString = Object.entries(parsed).find(([, value]) => typeof value !== "string");
        if (nonString) return fail(reply, 400, `additional_info.${nonString[0]} must be a string`);
      }
    }
    for (const record of records as Array<Record<string, unknown>>) events.push(Object.fromEntries(Object.entries(record).map(([k, v]) => [k, String(v)])));
    save();
    return { result: { "Default Bulk Endpoint": `${records.length} events were inserted` } };
  });

  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

  return {
    ...faults,
    url,
    username,
    password,
    clientId,
    clientSecret,
    requests,
    incidents: () => [...incidents.values()],
    workNotes: (sysId) => (journal.get(sysId) ?? []).filter((e) => e.element === "work_notes").map((e) => e.value),
    events: () => [...events],
    alertSeverities: () => new Map(events.map((e) => [e.message_key!, e.severity!])),
    addCi(ci) {
      const known = cis.find((c) => c.object_id === ci.object_id && c.name === ci.name);
      if (known) return known.sys_id!;
      const sys_id = randomUUID().replace(/-/g, "");
      cis.push({ sys_id, sys_class_name: ci.sys_class_name ?? "cmdb_ci_vm_instance", name: ci.name, object_id: ci.object_id });
      save();
      return sys_id;
    },
    expireTokens: () => tokens.clear(),
    callouts,
    setBusinessRule(rule) {
      businessRule = rule;
    },
    async personChanges(sysId, change) {
      const row = incidents.get(sysId);
      if (!row) throw new Error(`no incident ${sysId}`);
      const next: Row = stamp(
        {
          ...row,
          ...(change.state ? { state: change.state } : {}),
          ...(change.closeCode ? { close_code: change.closeCode } : {}),
          ...(change.closeNotes ? { close_notes: change.closeNotes } : {}),
          ...(change.assignedTo ? { assigned_to: change.assignedTo } : {}),
        },
        change.user,
      );
      incidents.set(sysId, next);
      addNote(sysId, change.workNote);
      return businessRule ? runBusinessRule(businessRule, row, next, change) : null;
    },
    close: () => app.close(),
  };

  /**
   * The Business Rule's script: on a change of state (or a work note, an assignment), ask Entra
   * for a token with the OAuth profile's client credentials and scope, then POST the event.
   */
  async function runBusinessRule(rule: BusinessRule, before: Row, after: Row, change: PersonChange): Promise<Callout> {
    const states: Record<string, string> = { "6": "resolved", "7": "closed", "8": "canceled" };
    const state = after.state !== before.state ? (states[after.state!] ?? (["6", "7", "8"].includes(before.state!) ? "reopened" : "acknowledged")) : change.assignedTo ? "assigned" : "commented";
    const event: Record<string, string> = {
      eventId: `${after.sys_id}:${after.sys_mod_count}`,
      ticket: after.sys_id!,
      state,
      by: change.user,
      at: `${after.sys_updated_on!.replace(" ", "T")}Z`,
      ...(change.closeNotes || change.workNote ? { note: change.closeNotes ?? change.workNote! } : {}),
      ...(change.assignedTo ? { assignee: change.assignedTo } : {}),
    };
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: rule.clientId, ...(rule.scope ? { scope: rule.scope } : {}) });
    const token = await fetch(rule.tokenUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form });
    const tokenBody = (await token.json()) as { access_token?: string; error_description?: string };
    if (!token.ok || !tokenBody.access_token) {
      const callout: Callout = { event, tokenStatus: token.status, tokenError: tokenBody.error_description ?? "no access_token" };
      callouts.push(callout);
      return callout;
    }
    const response = await fetch(`${rule.receiverUrl}/api/connectors/${encodeURIComponent(rule.connector)}/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${tokenBody.access_token}` },
      body: JSON.stringify(event),
    });
    const callout: Callout = { event, tokenStatus: token.status, status: response.status, answer: await response.json() };
    callouts.push(callout);
    return callout;
  }
}
