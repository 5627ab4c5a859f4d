/** JSON Schemas of the read API: they validate requests, shape responses and generate the OpenAPI document. */
import Type from "typebox";
import { SEVERITIES } from "../alerts/schema.ts";

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
      "opened, resolved, reopened, details_updated, superseded, refired; acknowledged, assigned, commented (by a person, in the ITSM or here); routed, held, released (routing rules); ticket_created, ticket_reopened, ticket_resolved, delivery_failed, delivery_dead (ITSM steps)",
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
  action: Type.Enum(["open", "reopen", "resolve", "acknowledge", "comment"]),
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
};

export const Incident = Type.Object(incidentProperties);
export const IncidentDetail = Type.Object({ ...incidentProperties, timeline: Type.Array(TimelineEntry) });

export const Page = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()], { description: "Pass as `cursor` for the next page." }) });

export const IncidentQuery = Type.Object({
  alertId: Type.Optional(Type.String()),
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
  ],
  { description: "Stored durably (the commit returned before the answer); not_admitted: refused by the admission rules, stored, opens nothing" },
);
