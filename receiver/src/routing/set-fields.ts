/**
 * The incident fields a route may `set`, per kind of connector: the names users write, the ITSM
 * API field each becomes, and the values the ITSM accepts. One table drives both validation at
 * start-up and the mapping a connector applies, so they cannot drift apart.
 *
 * Sources:
 * - ServiceNow incident form fields (caller_id, category, subcategory, business_service,
 *   service_offering, contact_type, impact, urgency, assignment_group, assigned_to) and the
 *   impact/urgency choices 1 - High, 2 - Medium, 3 - Low, with priority computed from them
 *   (read-only): ServiceNow docs, "Create an incident" and "Define priority lookup rules".
 * - ServiceNow Event Management severities: 1 Critical, 2 Major, 3 Minor, 4 Warning, 5 Info
 *   (0 clears, which the connector sends itself on resolve).
 * - BMC Helix HPD:IncidentInterface_Create: "Assigned Support Company", "Assigned Support
 *   Organization", "Assigned Group", "Assignee", "Categorization Tier 1-3", "Product Categorization
 *   Tier 1-3", Service_Type, and the Impact ("1-Extensive/Widespread" … "4-Minor/Localized") and
 *   Urgency ("1-Critical" … "4-Low") selections: BMC Helix ITSM REST API references.
 */
import type { ConnectorConfig } from "../connectors/connector-config.ts";

/** What decides which fields apply: ServiceNow's two modes deliver different records. */
export type SetProfile = "servicenow-table" | "servicenow-event" | "bmc-helix";

interface FieldSpec {
  /** The field's name in the ITSM's API. */
  apiField: string;
  /** The exact values the ITSM accepts, when it is a choice; a bare number picks the value it starts with. */
  choices?: readonly string[];
}

const SERVICENOW_LEVELS = ["1", "2", "3"] as const;
const BMC_URGENCY = ["1-Critical", "2-High", "3-Medium", "4-Low"] as const;
const BMC_IMPACT = ["1-Extensive/Widespread", "2-Significant/Large", "3-Moderate/Limited", "4-Minor/Localized"] as const;
const BMC_SERVICE_TYPES = ["User Service Restoration", "User Service Request", "Infrastructure Restoration", "Infrastructure Event"] as const;

export const SET_FIELDS: Readonly<Record<SetProfile, Readonly<Record<string, FieldSpec>>>> = {
  "servicenow-table": {
    assignmentGroup: { apiField: "assignment_group" },
    assignedTo: { apiField: "assigned_to" },
    callerId: { apiField: "caller_id" },
    category: { apiField: "category" },
    subcategory: { apiField: "subcategory" },
    businessService: { apiField: "business_service" },
    serviceOffering: { apiField: "service_offering" },
    contactType: { apiField: "contact_type" },
    urgency: { apiField: "urgency", choices: SERVICENOW_LEVELS },
    impact: { apiField: "impact", choices: SERVICENOW_LEVELS },
  },
  "servicenow-event": {
    severity: { apiField: "severity", choices: ["1", "2", "3", "4", "5"] },
  },
  "bmc-helix": {
    assignedSupportCompany: { apiField: "Assigned Support Company" },
    assignedSupportOrganization: { apiField: "Assigned Support Organization" },
    assignedGroup: { apiField: "Assigned Group" },
    assignee: { apiField: "Assignee" },
    categorizationTier1: { apiField: "Categorization Tier 1" },
    categorizationTier2: { apiField: "Categorization Tier 2" },
    categorizationTier3: { apiField: "Categorization Tier 3" },
    productCategorizationTier1: { apiField: "Product Categorization Tier 1" },
    productCategorizationTier2: { apiField: "Product Categorization Tier 2" },
    productCategorizationTier3: { apiField: "Product Categorization Tier 3" },
    serviceType: { apiField: "Service_Type", choices: BMC_SERVICE_TYPES },
    urgency: { apiField: "Urgency", choices: BMC_URGENCY },
    impact: { apiField: "Impact", choices: BMC_IMPACT },
  },
};

/** The severity → value maps a connector applies when no route sets urgency or impact. */
export const SEVERITY_MAP_CHOICES: Readonly<Record<"servicenow" | "bmc-helix", { urgency: readonly string[]; impact: readonly string[] }>> = {
  servicenow: { urgency: SERVICENOW_LEVELS, impact: SERVICENOW_LEVELS },
  "bmc-helix": { urgency: BMC_URGENCY, impact: BMC_IMPACT },
};

export const PROFILE_LABEL: Readonly<Record<SetProfile, string>> = {
  "servicenow-table": "ServiceNow (table mode)",
  "servicenow-event": "ServiceNow (event mode)",
  "bmc-helix": "BMC Helix",
};

export function profileOf(config: Pick<ConnectorConfig, "kind"> & { mode?: "table" | "event" }): SetProfile {
  if (config.kind === "bmc-helix") return "bmc-helix";
  return config.mode === "event" ? "servicenow-event" : "servicenow-table";
}

/**
 * A choice given as its number (`urgency: 2`, which YAML reads as a number) becomes the value it
 * stands for ("2" for ServiceNow, "2-High" for BMC Helix).
 */
export function choiceValue(choices: readonly string[], value: unknown): string | null {
  const text = typeof value === "number" && Number.isInteger(value) ? String(value) : typeof value === "string" ? value.trim() : null;
  if (text === null) return null;
  return choices.find((c) => c === text) ?? choices.find((c) => c.split("-")[0] === text) ?? null;
}

/** Checks one `set` value for a profile: the normalised value, or why it is refused. */
export function checkSetValue(profile: SetProfile, key: string, value: unknown): { value: string } | { error: string } {
  const spec = SET_FIELDS[profile][key];
  if (!spec) {
    return { error: `is not a field ${PROFILE_LABEL[profile]} incidents take; use one of: ${Object.keys(SET_FIELDS[profile]).join(", ")}` };
  }
  if (spec.choices) {
    const chosen = choiceValue(spec.choices, value);
    return chosen === null
      ? { error: `must be one of ${spec.choices.map((c) => JSON.stringify(c)).join(", ")} for ${PROFILE_LABEL[profile]}, got ${JSON.stringify(value)}` }
      : { value: chosen };
  }
  // YAML reads `assignmentGroup: 4711` as a number; a group or category named by digits is still text.
  if (typeof value === "number" && Number.isFinite(value)) return { value: String(value) };
  if (typeof value !== "string" || value.trim() === "") return { error: `must be non-empty text, got ${JSON.stringify(value)}` };
  return { value: value.trim() };
}

/** The `set` of a route as the ITSM's API fields, for the connector to merge into what it sends. */
export function apiFields(profile: SetProfile, set: Readonly<Record<string, string>>): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(set)) {
    const spec = SET_FIELDS[profile][key];
    if (spec) fields[spec.apiField] = value;
  }
  return fields;
}
