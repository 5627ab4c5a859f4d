/** BMC Helix ITSM's connector settings: each one's rules key, variable (BMC_HELIX_ + …), default and check. */
import type { ConfigOf } from "../kind.ts";
import { clientIds, date, period, severityMap, stringRecord, text, url } from "../settings.ts";
import { IMPACT, URGENCY } from "./fields.ts";

export const SETTINGS = {
  url: url({ required: true, doc: "REST base URL, e.g. `https://company-restapi.onbmc.com`; turns the connector on" }),
  firstName: text({ required: true, doc: "`First_Name` of the customer the incident is reported for" }),
  lastName: text({ required: true, doc: "`Last_Name` of the customer the incident is reported for" }),
  impactBySeverity: severityMap(IMPACT, {
    variable: "IMPACT_MAP",
    default: { Sev0: "1-Extensive/Widespread", Sev1: "2-Significant/Large", Sev2: "3-Moderate/Limited", Sev3: "4-Minor/Localized", Sev4: "4-Minor/Localized", none: "4-Minor/Localized" },
    doc: "severity → `Impact`; `none` is for budget alerts, which carry no severity",
  }),
  urgencyBySeverity: severityMap(URGENCY, {
    variable: "URGENCY_MAP",
    default: { Sev0: "1-Critical", Sev1: "2-High", Sev2: "3-Medium", Sev3: "4-Low", Sev4: "4-Low", none: "4-Low" },
    doc: "severity → `Urgency`",
  }),
  serviceType: text({ default: "Infrastructure Event", doc: "`Service_Type` on create" }),
  reportedSource: text({ default: "Systems Management", doc: "`Reported Source` on create" }),
  status: text({ default: "New", doc: "`Status` on create" }),
  statusReason: text({ default: "Automated Resolution Reported", doc: "`Status_Reason` on resolve" }),
  resolution: text({ default: "Resolved by secure-export", doc: "`Resolution` on resolve, before who or what resolved it" }),
  ciField: text({ default: "HPD_CI", doc: "field that receives the CI's name" }),
  correlationField: text({ default: "Vendor Ticket Number", doc: "field that holds the correlation key (looked up before creating)" }),
  syncClients: clientIds({ doc: "Entra application (client) ids that may push this connector's ticket changes to `POST /api/connectors/{name}/events` (with the `Itsm.Sync` app role)" }),
  credentialExpiresAt: date({
    doc: "when the password expires (a date like `2027-03-31`, or an instant): an incident opens `CREDENTIAL_WARN_DAYS` before, and the status and metrics show the days left; unset: not watched",
  }),
  pollEvery: period({ minMs: 60_000, doc: "reads the state of this connector's open tickets this often (by `Last Modified Date`, in pages), for tenants that cannot call out; unset: no polling" }),
  extraValues: stringRecord({ doc: 'JSON object of more values for the create form, e.g. `{"Company":"Contoso","Assigned Support Group":"Cloud Ops"}`' }),
};

/** BMC Helix logs in with a user (AR-JWT), not OAuth client credentials. */
export const CREDENTIALS = {
  oauth: false,
  basicOnlyReason: "BMC Helix logs in with a user (AR-JWT), not OAuth client credentials",
  basicDoc: "AR-JWT login (`/api/jwt/login`); the token is cached, and a 401 logs in again once",
} as const;

export type BmcHelixConfig = ConfigOf<"bmc-helix", typeof SETTINGS, typeof CREDENTIALS>;
