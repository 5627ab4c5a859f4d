/**
 * BMC Helix ITSM (docs/connectors.md#bmc-helix-itsm): AR-JWT login, incidents created through
 * HPD:IncidentInterface_Create and resolved through HPD:IncidentInterface.
 */
import { DeliveryError, type Connector, type ConnectorCheck, type DeliveryJob, type ExternalLink, type IncidentSnapshot } from "../../outbox/delivery.ts";
import { checkVerdict, failure, httpRequest, parseJson, type HttpResponse } from "../http-client.ts";
import { clip, incidentDescription, noteText, resolutionText, shortTitle, updateText } from "../incident-text.ts";
import { advanceCursor, POLL_PAGE_SIZE, type PollCursor, type Ticket, type TicketPage, type TicketState, type TicketSync } from "../tickets.ts";
import { FIELD_MAX, WORK_LOG_MAX, WORK_LOG_TYPE } from "./fields.ts";
import type { BmcHelixConfig } from "./settings.ts";

// Helix tokens last about an hour; renewing a little early avoids a 401 round trip.
const TOKEN_LIFETIME_MS = 55 * 60_000;

interface Entry {
  values?: Record<string, unknown>;
  _links?: { self?: Array<{ href?: string }> };
}

/** HPD:IncidentInterface `Status` values that end a person's work; the rest are active. */
const TICKET_STATES: Readonly<Record<string, TicketState>> = { Resolved: "resolved", Closed: "closed", Cancelled: "canceled" };

/** AR System date-times as the REST API writes them (`2022-06-21T11:08:05.000+0000`), as ISO 8601 UTC. */
function fromArTime(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** AR System qualification string literal: double quotes doubled. */
function literal(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

export class BmcHelixConnector implements Connector, TicketSync {
  readonly name: string;
  readonly tool = "BMC Helix";
  private readonly config: BmcHelixConfig;
  private token: { value: string; expiresAt: number } | null = null;

  constructor(name: string, config: BmcHelixConfig) {
    this.name = name;
    this.config = config;
  }

  private async login(): Promise<string> {
    if (this.token && Date.now() < this.token.expiresAt) return this.token.value;
    const response = await this.jwtLogin();
    if (response.status !== 200 || !response.text.trim()) throw failure("BMC Helix login", response);
    this.token = { value: response.text.trim(), expiresAt: Date.now() + TOKEN_LIFETIME_MS };
    return this.token.value;
  }

  private jwtLogin(): Promise<HttpResponse> {
    return httpRequest(`${this.config.url}/api/jwt/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username: this.config.auth.username, password: this.config.auth.password }),
    });
  }

  /** The JWT login itself: it needs the server and the credentials, and its token serves the first delivery. */
  async check(): Promise<ConnectorCheck> {
    const tool = `BMC Helix at ${this.config.url}`;
    try {
      const response = await this.jwtLogin();
      const verdict = checkVerdict(tool, response, `credentials of ${this.config.auth.username}`);
      if (!verdict.ok) return verdict;
      if (!response.text.trim()) return { ok: false, detail: `${tool} answered the login ${response.status} without a token` };
      this.token = { value: response.text.trim(), expiresAt: Date.now() + TOKEN_LIFETIME_MS };
      return verdict;
    } catch (error) {
      return { ok: false, detail: `${tool}: ${(error as Error).message}` };
    }
  }

  /** On 401 the token may have expired early: log in again, once. */
  private async request(method: string, path: string, body?: unknown): Promise<HttpResponse> {
    const send = async () =>
      httpRequest(`${this.config.url}${path}`, {
        method,
        headers: { accept: "application/json", authorization: `AR-JWT ${await this.login()}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    let response = await send();
    if (response.status === 401) {
      this.token = null;
      response = await send();
    }
    return response;
  }

  private async find(field: string, value: string): Promise<Entry | null> {
    const q = `'${field}'=${literal(value)}`;
    const response = await this.request("GET", `/api/arsys/v1/entry/HPD:IncidentInterface?q=${encodeURIComponent(q)}`);
    if (response.status !== 200) throw failure("BMC Helix incident lookup", response);
    const { entries = [] } = parseJson<{ entries?: Entry[] }>("BMC Helix incident lookup", response);
    // Checked like ServiceNow's: only an entry that really carries the value counts.
    return entries.find((e) => e.values?.[field] === value) ?? null;
  }

  private async create(s: IncidentSnapshot): Promise<ExternalLink> {
    const severity = s.severity ?? "none";
    const ciName = s.resources[0]?.name ?? s.unboundCis[0];
    const values = {
      ...this.config.extraValues,
      First_Name: this.config.firstName,
      Last_Name: this.config.lastName,
      Description: shortTitle(s, FIELD_MAX.Description),
      Detailed_Decription: incidentDescription(s, FIELD_MAX.Detailed_Decription),
      Impact: this.config.impactBySeverity[severity],
      Urgency: this.config.urgencyBySeverity[severity],
      Status: this.config.status,
      "Reported Source": this.config.reportedSource,
      Service_Type: this.config.serviceType,
      [this.config.correlationField]: s.correlationKey,
      ...(ciName ? { [this.config.ciField]: ciName } : {}),
      // What the incident's route sets for this instance wins over the connector's defaults.
      ...s.fields,
    };
    const response = await this.request("POST", "/api/arsys/v1/entry/HPD:IncidentInterface_Create?fields=values(Incident%20Number)", { values });
    if (response.status !== 201 && response.status !== 200) throw failure("BMC Helix incident create", response);
    const number = parseJson<Entry>("BMC Helix incident create", response).values?.["Incident Number"];
    if (typeof number !== "string" || !number) throw new DeliveryError("BMC Helix created an incident but returned no Incident Number", { retryable: true });
    return { externalId: number, externalNumber: number };
  }

  private async update(link: ExternalLink, values: Record<string, string>, what: string): Promise<void> {
    const entry = await this.find("Incident Number", link.externalId);
    const href = entry?._links?.self?.[0]?.href;
    if (!href) throw new DeliveryError(`BMC Helix has no incident ${link.externalId} to update`, { retryable: true });
    // The self link names Helix's own host; keep the configured base URL (proxies, private endpoints).
    const target = new URL(href);
    const response = await this.request("PUT", `${target.pathname}${target.search}`, { values });
    if (response.status !== 204 && response.status !== 200) throw failure(what, response);
  }

  /**
   * A work-info note (the HPD:WorkLog form, keyed by Incident Number), internal and unlocked: an
   * acknowledgement, a comment, or an update of a problem's ticket (its members' changes, flapping)
   * never changes the Status, which needs an assignee to move past Assigned. A retry after a lost
   * answer may add it twice; a work log has no key to look it up by.
   */
  private async note(link: ExternalLink, text: string, what: string): Promise<void> {
    const values = {
      "Incident Number": link.externalId,
      "Work Log Type": WORK_LOG_TYPE,
      Description: clip(text.split("\n")[0]!, WORK_LOG_MAX.Description),
      "Detailed Description": text,
      "View Access": "Internal",
      "Secure Work Log": "No",
    };
    const response = await this.request("POST", "/api/arsys/v1/entry/HPD:WorkLog", { values });
    if (response.status !== 201 && response.status !== 200 && response.status !== 204) throw failure(what, response);
  }

  private ticketOf(values: Record<string, unknown>): Ticket {
    const str = (key: string) => (typeof values[key] === "string" && values[key] ? (values[key] as string) : null);
    const status = str("Status") ?? "";
    return {
      id: str("Incident Number") ?? "",
      number: str("Incident Number"),
      state: TICKET_STATES[status] ?? "active",
      toolState: status,
      correlationKey: str(this.config.correlationField),
      closeCode: str("Status_Reason"),
      closeNotes: str("Resolution"),
      by: str("Last Modified By"),
      assignee: str("Assignee"),
      changedAt: fromArTime(values["Last Modified Date"]),
    };
  }

  async readTicket(ref: string): Promise<Ticket | null> {
    if (!ref) return null;
    const entry = await this.find("Incident Number", ref);
    return entry?.values ? this.ticketOf(entry.values) : null;
  }

  /**
   * One page of our incidents (correlation field LIKE "azmon-%") modified at or after the cursor,
   * oldest first; entries of the cursor's very instant already read are skipped with `offset`.
   */
  async changedTickets(cursor: PollCursor, pageSize = POLL_PAGE_SIZE): Promise<TicketPage> {
    const q = `'${this.config.correlationField}' LIKE "azmon-%" AND 'Last Modified Date' >= ${literal(cursor.changedAt)}`;
    const params = new URLSearchParams({ q, sort: "Last Modified Date.asc", limit: String(pageSize), offset: String(cursor.seen) });
    const response = await this.request("GET", `/api/arsys/v1/entry/HPD:IncidentInterface?${params.toString()}`);
    if (response.status !== 200) throw failure("BMC Helix incident poll", response);
    const { entries = [] } = parseJson<{ entries?: Entry[] }>("BMC Helix incident poll", response);
    const tickets = entries
      .map((e) => this.ticketOf(e.values ?? {}))
      .filter((t) => t.id && t.correlationKey?.startsWith("azmon-") && t.changedAt !== null && t.changedAt >= cursor.changedAt);
    return { tickets, cursor: advanceCursor(cursor, tickets), more: entries.length === pageSize };
  }

  async deliver(job: DeliveryJob): Promise<ExternalLink> {
    let link = job.link;
    if (!link) {
      const existing = await this.find(this.config.correlationField, job.snapshot.correlationKey);
      const number = existing?.values?.["Incident Number"];
      link = typeof number === "string" ? { externalId: number, externalNumber: number } : await this.create(job.snapshot);
    }
    if (job.action === "resolve") {
      await this.update(link, { Status: "Resolved", Status_Reason: this.config.statusReason, Resolution: resolutionText(job.snapshot, this.config.resolution, FIELD_MAX.Resolution) }, "BMC Helix incident resolve");
    } else if (job.action === "reopen") {
      await this.update(link, { Status: "In Progress" }, "BMC Helix incident reopen");
    } else if (job.action === "acknowledge" || job.action === "comment") {
      await this.note(link, noteText(job.snapshot, WORK_LOG_MAX["Detailed Description"]), `BMC Helix incident ${job.action}`);
    } else if (job.action === "update") {
      await this.note(link, updateText(job.snapshot, WORK_LOG_MAX["Detailed Description"]), "BMC Helix work log");
    }
    return link;
  }
}
