/**
 * ServiceNow's fields, as its documentation defines them: what a route may `set` on an incident or
 * an event, the values its choice fields take, and how long each text field is.
 *
 * Sources (ServiceNow product documentation):
 * - Incident form fields (caller_id, category, subcategory, business_service, service_offering,
 *   contact_type, impact, urgency, assignment_group, assigned_to), with impact and urgency
 *   1 - High, 2 - Medium, 3 - Low and priority computed from them (read-only): "Create an incident",
 *   "Define priority lookup rules".
 * - The incident dictionary: short_description 160 and correlation_id 100 characters; description
 *   and close_notes 4,000-character string fields. A longer value is cut silently by the instance,
 *   so the client cuts it itself where it shows.
 * - Event Management severities 1 Critical, 2 Major, 3 Minor, 4 Warning, 5 Info (0 clears, which the
 *   client sends itself on resolve), and em_event's lengths ("Event field format for event
 *   collection"): source, node, type and resource 100 characters, message_key 1,024;
 *   additional_info is a JSON string whose values must be strings. event_class, metric_name and
 *   description have no documented length: they get the 100 of their siblings and the 4,000 of a
 *   description.
 */
import type { FieldProfile } from "../kind.ts";

/** Impact and urgency. */
export const LEVELS = ["1", "2", "3"] as const;

export const INCIDENT_FIELD_MAX = { short_description: 160, description: 4000, close_notes: 4000, work_notes: 4000 } as const;
export const EVENT_FIELD_MAX = { source: 100, event_class: 100, node: 100, type: 100, resource: 100, metric_name: 100, description: 4000 } as const;

export const TABLE_PROFILE: FieldProfile = {
  id: "servicenow-table",
  label: "ServiceNow (table mode)",
  fields: {
    assignmentGroup: { apiField: "assignment_group" },
    assignedTo: { apiField: "assigned_to" },
    callerId: { apiField: "caller_id" },
    category: { apiField: "category" },
    subcategory: { apiField: "subcategory" },
    businessService: { apiField: "business_service" },
    serviceOffering: { apiField: "service_offering" },
    contactType: { apiField: "contact_type" },
    urgency: { apiField: "urgency", choices: LEVELS },
    impact: { apiField: "impact", choices: LEVELS },
  },
};

export const EVENT_PROFILE: FieldProfile = {
  id: "servicenow-event",
  label: "ServiceNow (event mode)",
  fields: {
    severity: { apiField: "severity", choices: ["1", "2", "3", "4", "5"] },
  },
};
