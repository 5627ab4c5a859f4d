/**
 * The shape of a rules document, as JSON Schema (TypeBox): which keys exist, their types, and
 * that nothing else is there. What depends on more than one field (connector names in routes,
 * `set` per connector kind, globs, cron, time zones) is checked in compile-rules.ts.
 *
 * Deliberately free of unions: a value that may take several forms (a custom property's value,
 * an urgency given as 2 or "2") is checked by hand, so each mistake gets one clear message
 * instead of one per alternative the validator tried.
 */
import Type, { type Static, type TSchema } from "typebox";
import { AuthSchema } from "../connectors/credentials.ts";
import { REFIRE_POLICIES } from "../incidents/lifecycle.ts";
import { CONNECTOR_KINDS, KIND_IDS } from "../connectors/kinds.ts";
import { MATCH_MONITOR_CONDITIONS, MATCH_SEVERITIES, MATCH_SIGNAL_TYPES } from "./match.ts";

/** Names end up in metrics labels, the ledger and log lines: keep them plain. */
export const NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$";
const Name = Type.String({ pattern: NAME_PATTERN, description: "a name of up to 63 letters, digits, '.', '_' or '-', starting with a letter or digit" });

const Text = Type.String({ minLength: 1 });
const TextList = Type.Array(Text, { minItems: 1 });

/** A `match`, the same wherever it appears (a silence's too: http/routes/silences.ts). */
export const Match = Type.Object(
  {
    subscriptions: Type.Optional(TextList),
    resourceGroups: Type.Optional(TextList),
    resourceTypes: Type.Optional(TextList),
    alertRules: Type.Optional(TextList),
    severities: Type.Optional(Type.Array(Type.Enum([...MATCH_SEVERITIES]), { minItems: 1 })),
    monitoringServices: Type.Optional(TextList),
    signalTypes: Type.Optional(Type.Array(Type.Enum([...MATCH_SIGNAL_TYPES]), { minItems: 1 })),
    monitorConditions: Type.Optional(Type.Array(Type.Enum([...MATCH_MONITOR_CONDITIONS]), { minItems: 1 })),
    customProperties: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { minProperties: 1 })),
  },
  { additionalProperties: false },
);

const Action = Type.Enum(["admit", "reject"]);

const Admission = Type.Object(
  {
    default: Action,
    rules: Type.Optional(Type.Array(Type.Object({ name: Name, match: Type.Optional(Match), action: Action }, { additionalProperties: false }))),
  },
  { additionalProperties: false },
);

/**
 * Every tool's settings in one object (connectors/kinds.ts): routing/connectors.ts refuses those
 * that do not belong to the connector's kind, with a message naming the kind they belong to.
 */
function connectorSchema() {
  const settings: Record<string, TSchema> = {};
  for (const kind of CONNECTOR_KINDS) {
    for (const [key, declared] of Object.entries(kind.settings)) {
      // Every tool needs a url (kind.ts); whether another setting is required depends on the kind, which kind.ts checks.
      const schema = key === "url" ? declared.schema : Type.Optional(declared.schema);
      if (key in settings && JSON.stringify(settings[key]) !== JSON.stringify(schema)) {
        throw new Error(`connector setting ${key} has a different shape in ${kind.label} than in another tool: give one of them another name`);
      }
      settings[key] = schema;
    }
  }
  return Type.Object({ kind: Type.Enum([...KIND_IDS]), auth: AuthSchema, ...settings }, { additionalProperties: false });
}

const Connector = connectorSchema();

const Route = Type.Object(
  {
    name: Name,
    match: Type.Optional(Match),
    to: Type.Array(Name, { minItems: 1 }),
    set: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    continue: Type.Optional(Type.Boolean()),
    /** An alert that fires again after a person closed its incident: a new ticket, the old one reopened, or a note on it. */
    onRefireAfterClose: Type.Optional(Type.Enum([...REFIRE_POLICIES])),
  },
  { additionalProperties: false },
);

const Window = Type.Object(
  {
    name: Name,
    match: Type.Optional(Match),
    from: Type.Optional(Text),
    to: Type.Optional(Text),
    cron: Type.Optional(Text),
    duration: Type.Optional(Text),
    timeZone: Type.Optional(Text),
  },
  { additionalProperties: false },
);

/** Noise control (routing/noise.ts checks durations, groupBy fields and what each entry does). */
const Noise = Type.Object(
  {
    name: Name,
    match: Type.Optional(Match),
    groupBy: Type.Optional(Type.Array(Text)),
    groupWait: Type.Optional(Text),
    groupInterval: Type.Optional(Text),
    holdFor: Type.Optional(Text),
    resolveWhen: Type.Optional(Type.Enum(["all", "first", "never"])),
    flapping: Type.Optional(Type.Object({ changes: Type.Integer({ minimum: 2, maximum: 100 }), within: Text, quietFor: Type.Optional(Text) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

const Storm = Type.Object(
  {
    name: Name,
    match: Type.Optional(Match),
    maxNewTickets: Type.Integer({ minimum: 1, maximum: 10_000 }),
    per: Text,
    groupInterval: Type.Optional(Text),
  },
  { additionalProperties: false },
);

export const RulesDocument = Type.Object(
  {
    admission: Type.Optional(Admission),
    connectors: Type.Optional(Type.Record(Type.String(), Connector)),
    routes: Type.Optional(Type.Array(Route)),
    maintenance: Type.Optional(Type.Array(Window)),
    noise: Type.Optional(Type.Array(Noise)),
    storm: Type.Optional(Type.Array(Storm)),
  },
  { additionalProperties: false },
);

export type RulesDocument = Static<typeof RulesDocument>;
