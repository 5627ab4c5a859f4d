/**
 * ServiceNow (docs/connectors.md#servicenow): Table API incidents keyed by a stable correlation_id, or Event
 * Management events keyed by message_key. Basic auth or OAuth client credentials.
 */
import { DeliveryError, type Connector, type ConnectorCheck, type DeliveryJob, type ExternalLink, type IncidentSnapshot } from "../../outbox/delivery.ts";
import { checkVerdict, failure, httpRequest, parseJson, type HttpResponse } from "../http-client.ts";
import { azurePortalLink, clip, incidentDescription, listed, noteText, resolutionText, shortResourceId, shortTitle, updateText } from "../incident-text.ts";
import { advanceCursor, POLL_PAGE_SIZE, type PollCursor, type Ticket, type TicketPage, type TicketState, type TicketSync } from "../tickets.ts";
import { EVENT_FIELD_MAX, INCIDENT_FIELD_MAX } from "./fields.ts";
import type { ServiceNowConfig } from "./settings.ts";

const RENEW_EARLY_MS = 60_000;
/** ARM ids per CMDB query (about 130 characters each, so the URL stays near 3 KB) and resources looked at. */
const CI_LOOKUP_BATCH = 20;
const CI_LOOKUP_MAX = 100;

class ServiceNowSession {
  private token: { value: string; expiresAt: number } | null = null;
  private readonly config: ServiceNowConfig;
  constructor(config: ServiceNowConfig) {
    this.config = config;
  }

  async authorization(): Promise<string> {
    const auth = this.config.auth;
    if (auth.type === "basic") return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
    if (!this.token || Date.now() >= this.token.expiresAt - RENEW_EARLY_MS) {
      const response = await this.tokenRequest(auth);
      if (response.status !== 200) throw failure("ServiceNow OAuth token endpoint", response);
      const body = parseJson<{ access_token?: string; expires_in?: number }>("ServiceNow OAuth token endpoint", response);
      if (!body.access_token) throw new DeliveryError("ServiceNow OAuth token endpoint returned no access_token", { retryable: true });
      this.token = { value: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 1800) * 1000 };
    }
    return `Bearer ${this.token.value}`;
  }

  /** The OAuth client-credentials call, answered as it came. */
  tokenRequest(auth: { clientId: string; clientSecret: string }): Promise<HttpResponse> {
    return httpRequest(`${this.config.url}/oauth_token.do`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: auth.clientId, client_secret: auth.clientSecret }),
    });
  }

  /** A 401 may be an expired token: renew once and try again. */
  async request(method: string, path: string, body?: unknown): Promise<HttpResponse> {
    const send = async () =>
      httpRequest(`${this.config.url}${path}`, {
        method,
        headers: { accept: "application/json", authorization: await this.authorization(), ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    let response = await send();
    if (response.status === 401 && this.config.auth.type === "oauth") {
      this.token = null;
      response = await send();
    }
    return response;
  }
}

interface Row {
  sys_id?: string;
  number?: string;
  correlation_id?: string;
  object_id?: string;
  state?: string;
  close_code?: string;
  close_notes?: string;
  sys_updated_on?: string;
  sys_updated_by?: string;
  assigned_to?: string;
}

/** Incident states (ServiceNow's incident state model): 6 Resolved, 7 Closed, 8 Canceled; the rest are active. */
const TICKET_STATES: Readonly<Record<string, TicketState>> = { "6": "resolved", "7": "closed", "8": "canceled" };
const TICKET_FIELDS = "sys_id,number,state,close_code,close_notes,correlation_id,sys_updated_on,sys_updated_by,assigned_to";

/** ServiceNow's date-time values (sysparm_display_value=false) are `yyyy-MM-dd HH:mm:ss` in UTC. */
function fromServiceNowTime(value: string | undefined): string | null {
  return value && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value) ? `${value.replace(" ", "T")}.000Z` : null;
}

function toServiceNowTime(iso: string): string {
  return new Date(iso).toISOString().replace("T", " ").slice(0, 19);
}

/** Characters that would end a condition of an encoded query: a ticket reference never has them. */
const ENCODED_QUERY_OPERATORS = /[\^=]/;

function query(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

/** What both ServiceNow modes share: the connector's name, its settings and one authenticated session. */
abstract class ServiceNowConnector implements Connector {
  readonly name: string;
  protected readonly config: ServiceNowConfig;
  protected readonly session: ServiceNowSession;

  constructor(name: string, config: ServiceNowConfig) {
    this.name = name;
    this.config = config;
    this.session = new ServiceNowSession(config);
  }

  abstract deliver(job: DeliveryJob): Promise<ExternalLink>;

  /**
   * Table mode reads one incident (the table it writes). An Event Management integration user may
   * only create events, so event mode reads one sys_user row: what counts there is that the
   * credentials are accepted (401 when not), not what the row says.
   */
  async check(): Promise<ConnectorCheck> {
    const tool = `ServiceNow at ${this.config.url}`;
    const credentials = this.config.auth.type === "oauth" ? "OAuth client credentials" : "basic auth credentials";
    const table = this.config.mode === "table" ? "incident" : "sys_user";
    try {
      const auth = this.config.auth;
      if (auth.type === "oauth") {
        const token = await this.session.tokenRequest(auth);
        if (token.status !== 200) return checkVerdict(`${tool} (OAuth token endpoint)`, token, credentials);
      }
      const response = await this.session.request("GET", `/api/now/table/${table}?${query({ sysparm_limit: "1", sysparm_fields: "sys_id" })}`);
      return checkVerdict(tool, response, credentials);
    } catch (error) {
      // Nothing answered (or the token answer was unusable): the message says why.
      return { ok: false, detail: `${tool}: ${(error as Error).message}` };
    }
  }
}

export class ServiceNowTableConnector extends ServiceNowConnector implements TicketSync {
  readonly tool = "ServiceNow";

  private async json<T>(what: string, method: string, path: string, body?: unknown, expect = [200]): Promise<T> {
    const response = await this.session.request(method, path, body);
    if (!expect.includes(response.status)) throw failure(what, response);
    return parseJson<T>(what, response);
  }

  /**
   * ServiceNow ignores a condition on a field it does not know and returns unrelated rows, so every
   * row that comes back is checked against what was asked.
   */
  private async findByCorrelation(key: string): Promise<ExternalLink | null> {
    const { result } = await this.json<{ result: Row[] }>(
      "ServiceNow incident lookup",
      "GET",
      `/api/now/table/incident?${query({ sysparm_query: `correlation_id=${key}`, sysparm_fields: "sys_id,number,correlation_id", sysparm_limit: "10" })}`,
    );
    const row = result.find((r) => r.correlation_id === key && r.sys_id);
    return row ? { externalId: row.sys_id!, externalNumber: row.number ?? null } : null;
  }

  /**
   * The CI of the first resource the CMDB knows, looked up CI_LOOKUP_BATCH ids per request with the
   * encoded query's IN operator, among the first CI_LOOKUP_MAX resources: an alert may name
   * thousands, and one request per resource would take minutes and spend the instance's rate limit.
   */
  private async findCi(snapshot: IncidentSnapshot): Promise<string | null> {
    const ids = snapshot.resources.slice(0, CI_LOOKUP_MAX).map((r) => r.resourceId);
    for (let start = 0; start < ids.length; start += CI_LOOKUP_BATCH) {
      const batch = ids.slice(start, start + CI_LOOKUP_BATCH);
      const { result } = await this.json<{ result: Row[] }>(
        "ServiceNow CMDB lookup",
        "GET",
        `/api/now/table/${encodeURIComponent(this.config.ciTable)}?${query({ sysparm_query: `object_idIN${batch.join(",")}`, sysparm_fields: "sys_id,name,object_id", sysparm_limit: String(batch.length * 5) })}`,
      );
      const found = new Map(result.flatMap((r) => (r.sys_id && r.object_id ? [[r.object_id.toLowerCase(), r.sys_id] as const] : [])));
      const first = batch.find((id) => found.has(id));
      if (first) return found.get(first)!;
    }
    return null;
  }

  private async create(snapshot: IncidentSnapshot): Promise<ExternalLink> {
    const severity = snapshot.severity ?? "none";
    const ci = await this.findCi(snapshot);
    const { result } = await this.json<{ result: Row }>(
      "ServiceNow incident create",
      "POST",
      "/api/now/table/incident",
      {
        short_description: shortTitle(snapshot, INCIDENT_FIELD_MAX.short_description),
        description: incidentDescription(snapshot, INCIDENT_FIELD_MAX.description),
        urgency: this.config.urgencyBySeverity[severity],
        impact: this.config.impactBySeverity[severity],
        correlation_id: snapshot.correlationKey,
        correlation_display: "Azure Monitor",
        ...(ci ? { cmdb_ci: ci } : {}),
        ...(this.config.assignmentGroup ? { assignment_group: this.config.assignmentGroup } : {}),
        ...(this.config.callerId ? { caller_id: this.config.callerId } : {}),
        ...(this.config.category ? { category: this.config.category } : {}),
        // What the incident's route sets for this instance wins over the connector's defaults.
        ...snapshot.fields,
      },
      [200, 201],
    );
    if (!result.sys_id) throw new DeliveryError("ServiceNow created an incident but returned no sys_id", { retryable: true });
    return { externalId: result.sys_id, externalNumber: result.number ?? null };
  }

  /** Looks up before creating, so a retry after a lost response finds the incident it made. */
  private async ensure(job: DeliveryJob): Promise<ExternalLink> {
    return job.link ?? (await this.findByCorrelation(job.snapshot.correlationKey)) ?? (await this.create(job.snapshot));
  }

  async deliver(job: DeliveryJob): Promise<ExternalLink> {
    const link = await this.ensure(job);
    const path = `/api/now/table/incident/${encodeURIComponent(link.externalId)}`;
    if (job.action === "acknowledge" || job.action === "comment") {
      // A work note, never a state change: the person working the ticket decides its state.
      await this.json(`ServiceNow incident ${job.action}`, "PATCH", path, { work_notes: noteText(job.snapshot, INCIDENT_FIELD_MAX.work_notes) });
    } else if (job.action === "resolve") {
      await this.json("ServiceNow incident resolve", "PATCH", path, {
        state: "6",
        close_code: this.config.closeCode,
        close_notes: resolutionText(job.snapshot, this.config.closeNotes, INCIDENT_FIELD_MAX.close_notes),
      });
    } else if (job.action === "reopen") {
      await this.json("ServiceNow incident reopen", "PATCH", path, { state: "2", work_notes: `Azure Monitor fired the alert again at ${job.snapshot.firedAt}.` });
    } else if (job.action === "update") {
      // work_notes is a journal field: each PATCH adds one entry to the incident's activity, visible to the fulfillers.
      await this.json("ServiceNow incident work note", "PATCH", path, { work_notes: updateText(job.snapshot, INCIDENT_FIELD_MAX.work_notes) });
    }
    return link;
  }

  private ticketOf(row: Row): Ticket {
    return {
      id: row.sys_id ?? "",
      number: row.number ?? null,
      state: TICKET_STATES[row.state ?? ""] ?? "active",
      toolState: row.state ?? "",
      correlationKey: row.correlation_id ?? null,
      closeCode: row.close_code || null,
      closeNotes: row.close_notes || null,
      by: row.sys_updated_by || null,
      assignee: row.assigned_to || null,
      changedAt: fromServiceNowTime(row.sys_updated_on),
    };
  }

  /** By sys_id (32 hex digits) or by number; a row that does not carry what was asked is not it. */
  async readTicket(ref: string): Promise<Ticket | null> {
    if (!ref || ENCODED_QUERY_OPERATORS.test(ref)) return null;
    const bySysId = /^[0-9a-f]{32}$/i.test(ref);
    const { result } = await this.json<{ result: Row[] }>(
      "ServiceNow incident read",
      "GET",
      `/api/now/table/incident?${query({ sysparm_query: bySysId ? `sys_id=${ref}` : `number=${ref}`, sysparm_fields: TICKET_FIELDS, sysparm_limit: "2", sysparm_exclude_reference_link: "true" })}`,
    );
    const row = result.find((r) => (bySysId ? r.sys_id === ref : r.number === ref) && r.sys_id);
    return row ? this.ticketOf(row) : null;
  }

  /**
   * One page of our incidents (correlation_id STARTSWITH azmon-) changed at or after the cursor,
   * ordered by sys_updated_on then sys_id; tickets of the cursor's very second already read are
   * skipped with sysparm_offset. Rows are checked client-side: ServiceNow ignores conditions it
   * cannot apply.
   */
  async changedTickets(cursor: PollCursor, pageSize = POLL_PAGE_SIZE): Promise<TicketPage> {
    const since = toServiceNowTime(cursor.changedAt);
    const { result } = await this.json<{ result: Row[] }>(
      "ServiceNow incident poll",
      "GET",
      `/api/now/table/incident?${query({
        sysparm_query: `correlation_idSTARTSWITHazmon-^sys_updated_on>=${since}^ORDERBYsys_updated_on^ORDERBYsys_id`,
        sysparm_fields: TICKET_FIELDS,
        sysparm_limit: String(pageSize),
        sysparm_offset: String(cursor.seen),
        sysparm_exclude_reference_link: "true",
      })}`,
    );
    const tickets = result
      .map((row) => this.ticketOf(row))
      .filter((t) => t.id && t.correlationKey?.startsWith("azmon-") && t.changedAt !== null && t.changedAt >= new Date(`${since.replace(" ", "T")}Z`).toISOString());
    const from = { changedAt: new Date(`${since.replace(" ", "T")}Z`).toISOString(), seen: cursor.seen };
    return { tickets, cursor: advanceCursor(from, tickets), more: result.length === pageSize };
  }
}

/** Event Management: `message_key` deduplicates, severity 0 closes the alert. */
const EVENT_SEVERITY: Readonly<Record<string, string>> = { Sev0: "1", Sev1: "2", Sev2: "3", Sev3: "4", Sev4: "5", none: "5" };

function eventTime(iso: string): string {
  return new Date(iso).toISOString().replace("T", " ").slice(0, 19);
}

export class ServiceNowEventConnector extends ServiceNowConnector {

  async deliver(job: DeliveryJob): Promise<ExternalLink> {
    const s = job.snapshot;
    // An event cannot be acknowledged or commented on: Event Management's alert is worked in ServiceNow.
    if (job.action === "acknowledge" || job.action === "comment") return { externalId: s.correlationKey, externalNumber: null };
    const resource = s.resources[0];
    const max = EVENT_FIELD_MAX;
    const record = {
      source: this.config.eventSource,
      event_class: clip(s.monitoringService, max.event_class),
      node: clip(resource?.name ?? s.unboundCis[0] ?? "azure", max.node),
      // No ARM id of a real resource fits in 100 characters: the tail here, the whole id in additional_info.
      resource: resource ? shortResourceId(resource.resourceId, max.resource) : "",
      type: clip(s.alertRule ?? s.monitoringService, max.type),
      metric_name: clip(s.signalType ?? "", max.metric_name),
      message_key: s.correlationKey,
      severity: job.action === "resolve" ? "0" : (s.fields.severity ?? EVENT_SEVERITY[s.severity ?? "none"]),
      description: job.action === "resolve" ? resolutionText(s, this.config.closeNotes, max.description) : job.action === "update" ? updateText(s, max.description) : incidentDescription(s, max.description),
      time_of_event: eventTime(job.action === "resolve" ? (s.resolvedAt ?? s.firedAt) : s.firedAt),
      // String values only; lists as lines, capped, since an alert may name thousands of resources.
      additional_info: JSON.stringify({
        alertId: s.alertId,
        alertLink: azurePortalLink(s.alertId),
        incidentId: s.incidentId,
        severity: s.severity ?? "none",
        resourceId: resource?.resourceId ?? "",
        resourceIds: listed(s.resources.map((r) => r.resourceId), "\n", undefined, s.resourceCount),
        ciNames: listed([...s.resources.map((r) => r.name), ...s.unboundCis], "\n", undefined, s.resourceCount + s.unboundCount),
      }),
    };
    const response = await this.session.request("POST", "/api/global/em/jsonv2", { records: [record] });
    if (response.status !== 200 && response.status !== 201) throw failure("ServiceNow Event Management", response);
    return { externalId: s.correlationKey, externalNumber: null };
  }
}
