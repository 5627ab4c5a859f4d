/**
 * BMC Helix ITSM's fields, as its REST API references define them: what a route may `set` on an
 * incident (HPD:IncidentInterface_Create: "Assigned Support Company", "Assigned Support
 * Organization", "Assigned Group", "Assignee", "Categorization Tier 1-3", "Product Categorization
 * Tier 1-3", Service_Type), the values of its selection fields (Impact "1-Extensive/Widespread" …
 * "4-Minor/Localized", Urgency "1-Critical" … "4-Low", Service_Type), and how long each text is.
 *
 * HPD:IncidentInterface_Create's Description (the incident's Summary) holds 100 characters; AR System
 * refuses a longer value (ERROR 306, value does not fall within the limits of the field). Detailed
 * description and Resolution are long text; 4,000 keeps them readable and within every deployment.
 */
import type { FieldProfile } from "../kind.ts";

export const URGENCY = ["1-Critical", "2-High", "3-Medium", "4-Low"] as const;
export const IMPACT = ["1-Extensive/Widespread", "2-Significant/Large", "3-Moderate/Limited", "4-Minor/Localized"] as const;
export const SERVICE_TYPES = ["User Service Restoration", "User Service Request", "Infrastructure Restoration", "Infrastructure Event"] as const;

export const FIELD_MAX = { Description: 100, Detailed_Decription: 4000, Resolution: 4000, "Detailed Description": 4000 } as const;

/**
 * HPD:WorkLog, the form "to update work info of an incident" (BMC Helix ITSM, "The platform REST
 * API references"): the work info's Summary (`Description`, 100 like the incident's) and Notes
 * (`Detailed Description`, long text held to 4,000), its type, who may see it and whether it is locked.
 */
export const WORK_LOG_MAX = { Description: 100, "Detailed Description": 4000 } as const;
export const WORK_LOG_TYPE = "General Information";
export const WORK_LOG_VIEW_ACCESS = ["Internal", "Public"] as const;

export const INCIDENT_PROFILE: FieldProfile = {
  id: "bmc-helix",
  label: "BMC Helix",
  fields: {
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
    serviceType: { apiField: "Service_Type", choices: SERVICE_TYPES },
    urgency: { apiField: "Urgency", choices: URGENCY },
    impact: { apiField: "Impact", choices: IMPACT },
  },
};
