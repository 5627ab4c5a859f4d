/** JSON Schemas of the read API: they validate requests, shape responses and generate the OpenAPI document. */
import Type from "typebox";
import { SEVERITIES } from "../alerts/schema.ts";
import { Match } from "../routing/rules-schema.ts";

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const Timestamp = Type.String({ format: "date-time" });

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

export const ConfigurationItem = Type.Object(
  {
    id: Type.String({ format: "uuid" }),
    resourceId: Nullable(Type.String({ description: "Lower-cased ARM resource id; null for an unbound CI." })),
    name: Type.String(),
    bound: Type.Boolean({ description: "false: Azure named it in configurationItems but sent no resource id for it." }),
    subscriptionId: Nullable(Type.String()),
    resourceGroup: Nullable(Type.String()),
    providerType: Nullable(Type.String()),
    firstSeenAt: Timestamp,
    lastSeenAt: Timestamp,
    openIncidents: Type.Integer(),
  },
);

export const TimelineEntry = Type.Object({
  type: Type.String({
    description:
      "opened, resolved, reopened, details_updated, superseded, refired; acknowledged, assigned, commented (by a person, in the ITSM or here); routed, held, released (routing rules, silences, holds); transient, grouped, member_joined, member_changed, notified, flapping_started, flapping_ended (noise control, docs/noise.md#the-timeline); ticket_created, ticket_reopened, ticket_resolved, ticket_updated, delivery_failed, delivery_dead (ITSM steps); evidence_added, evidence_refused, evidence_failed (a log alert's rows, docs/incidents.md#log-evidence)",
  }),
  at: Timestamp,
  recordedAt: Timestamp,
  notificationId: Nullable(Type.String()),
  actor: Nullable(Type.String({ description: "who did it by hand: the name their token carried (name, preferred_username or upn), else their object id; detail.actorId holds the id" })),
  detail: Type.Object({}, { additionalProperties: true }),
  summary: Type.String({ description: "the event in words, e.g. \"resolved by Olivia Operator in secure-export: disk cleaned up\" or \"ticket INC0010001 created in default\"" }),
});

export const Delivery = Type.Object({
  id: Type.String(),
  incidentId: Type.String({ format: "uuid" }),
  connector: Type.String({ description: "A connector's name, or @azure-monitor for the write-back to the Azure alert" }),
  action: Type.Enum(["open", "reopen", "resolve", "acknowledge", "comment", "update"], { description: "update: a note on a problem's open ticket (a ServiceNow work note, a BMC Helix work log)" }),
  status: Type.Enum(["pending", "delivered", "dead"], { description: "dead: gave up after OUTBOX_MAX_AGE_SECONDS or a permanent error; replay with POST /api/deliveries/{id}/retry" }),
  attempts: Type.Integer(),
  lastError: Nullable(Type.String()),
  nextAttemptAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
  deliveredAt: Type.Union([Timestamp, Type.Null()]),
  externalId: Nullable(Type.String({ description: "ServiceNow sys_id or message_key, BMC Incident Number" })),
  externalNumber: Nullable(Type.String()),
});

export const DeliveryQuery = Type.Object({
  status: Type.Optional(Type.Enum(["pending", "delivered", "dead"])),
  incidentId: Type.Optional(Type.String({ format: "uuid" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String()),
});

const StringMap = Type.Object({}, { additionalProperties: Type.String() });

const Millis = Type.Integer({ minimum: 0, description: "milliseconds" });

export const NoiseDecision = Type.Object({
  rule: Nullable(Type.String({ description: "The noise entry that applies" })),
  groupBy: Type.Union([Type.Array(Type.String()), Type.Null()]),
  groupKey: Nullable(Type.String({ description: "The values the alert is grouped by, e.g. alertRule=…, subscription=…" })),
  groupId: Nullable(Type.String({ description: "The group's identity: rule, key and the connectors its ticket goes to" })),
  groupWaitMs: Millis,
  groupIntervalMs: Millis,
  resolveWhen: Type.Enum(["all", "first", "never"]),
  holdForMs: Type.Union([Millis, Type.Null()]),
  holdUntil: Type.Union([Timestamp, Type.Null()], { description: "firedDateTime + holdFor: no ticket before then" }),
  flapping: Type.Union([Type.Object({ changes: Type.Integer(), withinMs: Millis, quietForMs: Millis }), Type.Null()]),
  storm: Type.Union([Type.Object({ name: Type.String(), maxNewTickets: Type.Integer(), perMs: Millis, groupIntervalMs: Millis }), Type.Null()]),
});

const NoiseHold = Type.Object({ kind: Type.Enum(["transient", "silence"]), id: Type.Optional(Type.String({ format: "uuid" })), until: Timestamp });

const AlertNoise = Type.Object(
  {
    holds: Type.Array(NoiseHold, { description: "Holds besides a maintenance window's: a transient hold, silences" }),
    dispatched: Type.Boolean({ description: "Sent on to its ticket (its own, its group's or a storm's); false while held" }),
    transient: Type.Boolean({ description: "Resolved inside its transient hold: it never reached the ITSM" }),
    storms: Type.Object({}, { additionalProperties: Type.String(), description: "Per connector, the storm incident that took it" }),
  },
  { description: "An alert's noise state (docs/noise.md); null when nothing of noise control applies" },
);

const ProblemState = Type.Object(
  {
    kind: Type.Enum(["group", "storm"]),
    rule: Type.String(),
    key: Type.String(),
    resolveWhen: Type.Enum(["all", "first", "never"]),
    groupIntervalMs: Millis,
    members: Type.Integer(),
    open: Type.Integer(),
    shown: Type.Array(Type.Object({ incidentId: Type.String({ format: "uuid" }), alertId: Type.String(), title: Type.String(), state: Type.Enum(["open", "resolved"]) })),
    waitUntil: Type.Union([Timestamp, Type.Null()], { description: "Its ticket opens then (groupWait); null once open" }),
    sent: Type.Boolean(),
    nextUpdateAt: Type.Union([Timestamp, Type.Null()], { description: "Member changes reach the ticket no sooner" }),
    pending: Type.Array(Type.String()),
    pendingMore: Type.Integer(),
    flapping: Type.Union([Type.Object({ changes: Type.Integer(), withinMs: Millis, quietForMs: Millis }), Type.Null()], { description: "The noise entry's flapping rule" }),
    flap: Type.Union([Type.Object({ changes: Type.Array(Timestamp), since: Type.Union([Timestamp, Type.Null()], { description: "Flapping since; null: not flapping" }) }), Type.Null()]),
    told: Type.Union([Type.Enum(["open", "resolved"]), Type.Null()], { description: "What its ticket was last told (flapping holds opens and resolves back)" }),
  },
  { description: "A group's or storm incident's state; null for an alert" },
);

export const RoutingExplanation = Type.Object(
  {
    admitted: Type.Boolean(),
    admission: Type.Object({ decision: Type.Enum(["admit", "reject"]), rule: Nullable(Type.String({ description: "The admission rule that decided; null: the default" })) }),
    routes: Type.Array(
      Type.Object({
        name: Type.String(),
        connectors: Type.Array(Type.String()),
        set: Type.Object({}, { additionalProperties: Type.Union([Type.String(), Type.Number()]) }),
        onRefireAfterClose: Type.Optional(Type.Enum(["new", "reopen", "note"])),
      }),
      { description: "The routes that matched, in order" },
    ),
    connectors: Type.Array(Type.String(), { description: "The connectors that get the incident" }),
    deliveries: Type.Array(
      Type.Object({
        connector: Type.String(),
        route: Nullable(Type.String()),
        profile: Type.String(),
        set: StringMap,
        fields: Type.Object({}, { additionalProperties: Type.String(), description: "The fields under the ITSM tool's own names" }),
      }),
    ),
    maintenance: Type.Object({
      held: Type.Boolean(),
      window: Nullable(Type.String()),
      windows: Type.Array(Type.String()),
      until: Type.Union([Timestamp, Type.Null()]),
    }),
    noise: Type.Union([NoiseDecision, Type.Null()], { description: "The noise entry and storm guard that apply (docs/noise.md); null when none does" }),
    explanation: Type.Array(Type.String(), { description: "Why, in the order the decisions were taken" }),
  },
  { description: "What the routing rules do with an alert, and why (docs/routing.md)." },
);

const incidentProperties = {
  id: Type.String({ format: "uuid" }),
  alertId: Type.String(),
  state: Type.Enum(["open", "resolved"]),
  resolution: Type.Union([Type.Enum(["alert", "operator", "quiet_period", "itsm", "reconciliation"]), Type.Null()]),
  severity: Type.Union([Type.Enum([...SEVERITIES]), Type.Null()]),
  title: Type.String(),
  description: Nullable(Type.String()),
  monitoringService: Type.String(),
  signalType: Nullable(Type.String()),
  family: Type.String(),
  alertRule: Nullable(Type.String()),
  firedAt: Timestamp,
  resolvedAt: Type.Union([Timestamp, Type.Null()]),
  configurationItems: Type.Array(ConfigurationItem),
  deliveries: Type.Array(Delivery, { description: "Per connector, its latest delivery of this incident." }),
  routing: Type.Union([RoutingExplanation, Type.Null()], { description: "Where the routing rules sent it when it was created, and why; null when there were no rules" }),
  hold: Type.Union([Type.Object({ window: Type.String(), until: Timestamp }), Type.Null()], {
    description: "A maintenance window holds its deliveries until `until`; null when not held",
  }),
  kind: Type.Enum(["alert", "group", "storm"], { description: "alert: one per Azure alertId; group, storm: a problem whose ticket tells its members (docs/noise.md)" }),
  problemId: Nullable(Type.String({ format: "uuid", description: "The group whose ticket tells this alert's changes" })),
  groupKey: Nullable(Type.String({ description: "A problem's identity" })),
  noise: Type.Union([AlertNoise, Type.Null()]),
  problem: Type.Union([ProblemState, Type.Null()]),
  dueAt: Type.Union([Timestamp, Type.Null()], { description: "When the noise timer looks at it next" }),
};

export const Incident = Type.Object(incidentProperties);
/** A log alert's rows (docs/incidents.md#log-evidence), as stored on the incident. */
export const Evidence = Type.Object(
  {
    state: Type.Enum(["fetching", "stored", "refused", "failed", "none"], { description: "refused: the link named another host than LOG_ANALYTICS_ENDPOINT and was not called; none: the payload had no link" }),
    host: Nullable(Type.String({ description: "The host the payload's link named" })),
    reason: Nullable(Type.String({ description: "Why there are no rows (refused, failed, none)" })),
    columns: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })),
    rows: Type.Array(Type.Array(Type.Unknown()), { description: "At most 50 rows and 64 KB" }),
    truncated: Type.Boolean({ description: "The query found more rows than were kept" }),
    updatedAt: Timestamp,
  },
  { description: "A log search alert's result rows" },
);

export const IncidentDetail = Type.Object({
  ...incidentProperties,
  timeline: Type.Array(TimelineEntry),
  evidence: Type.Union([Evidence, Type.Null()], { description: "A log alert's result rows (docs/incidents.md#log-evidence); null for other alerts, or with LOG_EVIDENCE off" }),
});

export const Page = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()], { description: "Pass as `cursor` for the next page." }) });

export const IncidentQuery = Type.Object({
  alertId: Type.Optional(Type.String()),
  kind: Type.Optional(Type.Enum(["alert", "group", "storm"])),
  problemId: Type.Optional(Type.String({ format: "uuid", description: "The members of a group or storm incident" })),
  state: Type.Optional(Type.Enum(["open", "resolved"])),
  severity: Type.Optional(Type.Enum([...SEVERITIES])),
  ci: Type.Optional(Type.String({ description: "CI id or ARM resource id" })),
  from: Type.Optional(Type.String({ format: "date-time", description: "firedAt at or after" })),
  to: Type.Optional(Type.String({ format: "date-time", description: "firedAt before" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String()),
});

export const CiQuery = Type.Object({
  bound: Type.Optional(Type.Boolean()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String()),
});

export const IdParams = Type.Object({ id: Type.String() });

export const ResolveBody = Type.Union([Type.Object({ note: Type.Optional(Type.String({ maxLength: 4000 })) }), Type.Null()]);

export const CommentBody = Type.Object({ note: Type.String({ minLength: 1, maxLength: 4000 }) });

export const ConnectorParams = Type.Object({ name: Type.String({ maxLength: 63 }) });

/** A ticket change an ITSM pushes (docs/http-api.md#itsm-events). */
export const TicketEventBody = Type.Object(
  {
    eventId: Type.String({ minLength: 1, maxLength: 200, description: "The tool's id for this change; a repeated eventId is a no-op" }),
    ticket: Type.String({ minLength: 1, maxLength: 100, description: "ServiceNow sys_id or number, BMC Helix Incident Number" }),
    state: Type.Enum(["resolved", "closed", "canceled", "reopened", "acknowledged", "assigned", "commented"]),
    by: Type.String({ minLength: 1, maxLength: 200, description: "Who made the change, as the tool names them" }),
    at: Type.String({ format: "date-time", description: "When, by the tool's clock" }),
    note: Type.Optional(Type.String({ maxLength: 4000 })),
    assignee: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const TicketEventAnswer = Type.Object({
  outcome: Type.Enum(["resolved", "reopened", "recorded", "no_change", "not_confirmed", "duplicate"], {
    description: "not_confirmed: the ticket, read back from the tool, is not in the state the event claims; duplicate: this eventId was applied before",
  }),
  incidentId: Type.String({ format: "uuid" }),
});

/** What POST /api/alerts answers when the alert is stored: 202 either way. */
export const AlertAccepted = Type.Union(
  [
    Type.Object({
      status: Type.Literal("accepted"),
      notificationId: Type.String(),
      duplicate: Type.Boolean({ description: "true: this delivery was stored before (Azure delivers at least once)" }),
      incidentId: Type.String(),
    }),
    Type.Object({
      status: Type.Literal("not_admitted"),
      rule: Nullable(Type.String({ description: "The admission rule that refused it; null: the default" })),
      notificationId: Type.String(),
      duplicate: Type.Boolean(),
    }),
    Type.Object({
      status: Type.Literal("heartbeat"),
      arrival: Type.Enum(["received", "unknown", "used", "expired"], {
        description: "received: recorded as the heartbeat; unknown, used, expired: a nonce this receiver did not send, or one already counted, or too late — ignored",
      }),
    }),
  ],
  {
    description:
      "Stored durably (the commit returned before the answer); not_admitted: refused by the admission rules, stored, opens nothing; heartbeat: Azure's test notification for the heartbeat (?heartbeat=<nonce>, docs/operations.md#heartbeat), never an incident",
  },
);

export const Silence = Type.Object({
  id: Type.String({ format: "uuid" }),
  match: Match,
  startsAt: Timestamp,
  endsAt: Timestamp,
  comment: Type.String(),
  createdBy: Type.String({ description: "The object id (or app id) of the token that added it" }),
  createdAt: Timestamp,
  expiredBy: Nullable(Type.String({ description: "Who expired it early" })),
  state: Type.Enum(["active", "pending", "expired"]),
});

export const SilenceBody = Type.Object(
  {
    match: Match,
    startsAt: Type.Optional(Type.String({ format: "date-time", description: "Default: now" })),
    endsAt: Type.Optional(Type.String({ format: "date-time" })),
    duration: Type.Optional(Type.String({ description: "Instead of endsAt: 30m, 2h, 1d, PT2H" })),
    comment: Type.String({ minLength: 1, maxLength: 1000 }),
  },
  { additionalProperties: false },
);

export const SilenceQuery = Type.Object({
  state: Type.Optional(Type.Enum(["active", "pending", "expired"])),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String()),
});

export const SilenceExpired = Type.Object({ silence: Silence, released: Type.Integer({ description: "Incidents it held, now due to be sent (if still open)" }) });

export const RoutingExplained = Type.Object(
  {
    ...RoutingExplanation.properties,
    noiseNow: Type.Union([
      Type.Object({
        silences: Type.Array(Type.Object({ id: Type.String({ format: "uuid" }), until: Timestamp, comment: Type.String() }), { description: "Silences in force that would hold a new incident" }),
        group: Type.Union([Type.Object({ id: Type.String({ format: "uuid" }), members: Type.Integer(), open: Type.Integer(), ticketAt: Type.Union([Timestamp, Type.Null()]) }), Type.Null()], { description: "The open group it would join" }),
        storms: Type.Array(Type.Object({ connector: Type.String(), recentTickets: Type.Integer(), admitted: Type.Boolean(), stormIncidentId: Type.Union([Type.String(), Type.Null()]) })),
      }),
      Type.Null(),
    ], { description: "What the ledger adds now: silences, the open group, storm budgets (null when not admitted)" }),
  },
  { description: "What the routing rules and noise control do with an alert now, and why (docs/routing.md, docs/noise.md)." },
);
