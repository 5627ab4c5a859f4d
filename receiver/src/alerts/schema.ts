/**
 * The common alert schema as JSON Schema (TypeBox). It pins down what the receiver
 * relies on and tolerates what real payloads do: nullable essentials on budget alerts, extra
 * fields Azure adds over time, any alertContext shape (normalise.ts reads it defensively).
 */
import Type, { type Static } from "typebox";

const NullableString = Type.Union([Type.String(), Type.Null()]);
const Timestamp = Type.String({ format: "date-time" });

export const SEVERITIES = ["Sev0", "Sev1", "Sev2", "Sev3", "Sev4"] as const;
export const MONITOR_CONDITIONS = ["Fired", "Resolved"] as const;

export const Essentials = Type.Object(
  {
    alertId: Type.String({ minLength: 1, description: "ARM id of the alert instance: the incident's identity." }),
    alertRule: Type.Optional(NullableString),
    severity: Type.Optional(Type.Union([Type.Enum([...SEVERITIES]), Type.Null()])),
    signalType: Type.Optional(NullableString),
    monitorCondition: Type.Enum([...MONITOR_CONDITIONS]),
    monitoringService: Type.String({ minLength: 1 }),
    alertTargetIDs: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])),
    configurationItems: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])),
    originAlertId: Type.Optional(NullableString),
    firedDateTime: Timestamp,
    resolvedDateTime: Type.Optional(Type.Union([Timestamp, Type.Null()])),
    description: Type.Optional(NullableString),
    essentialsVersion: Type.Optional(NullableString),
    alertContextVersion: Type.Optional(NullableString),
    alertRuleID: Type.Optional(NullableString),
    alertRuleId: Type.Optional(NullableString),
    investigationLink: Type.Optional(NullableString),
    targetResourceGroup: Type.Optional(NullableString),
    targetResourceType: Type.Optional(NullableString),
  },
  { additionalProperties: true },
);

export const CommonAlert = Type.Object(
  {
    schemaId: Type.Literal("azureMonitorCommonAlertSchema"),
    data: Type.Object(
      {
        essentials: Essentials,
        alertContext: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
        customProperties: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
      },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: true, $id: "CommonAlert", description: "Azure Monitor common alert schema notification." },
);

export type CommonAlert = Static<typeof CommonAlert>;
export type Essentials = Static<typeof Essentials>;
export type Severity = (typeof SEVERITIES)[number];
