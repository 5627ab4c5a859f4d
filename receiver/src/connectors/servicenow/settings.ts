/** ServiceNow's connector settings: each one's rules key, variable (SERVICENOW_ + …), default and check. */
import type { ConfigOf } from "../kind.ts";
import { choice, clientIds, date, period, severityMap, text, url } from "../settings.ts";
import { EVENT_FIELD_MAX, LEVELS } from "./fields.ts";

export const SETTINGS = {
  url: url({ required: true, doc: "instance URL, e.g. `https://dev12345.service-now.com`; turns the connector on" }),
  mode: choice(["table", "event"], { default: "table", doc: "`table` (incidents through the Table API) or `event` (Event Management `em/jsonv2`)" }),
  urgencyBySeverity: severityMap(LEVELS, {
    variable: "URGENCY_MAP",
    default: { Sev0: "1", Sev1: "1", Sev2: "2", Sev3: "3", Sev4: "3", none: "3" },
    doc: "severity → urgency (`1` high … `3` low); `none` is for budget alerts, which carry no severity",
  }),
  impactBySeverity: severityMap(LEVELS, {
    variable: "IMPACT_MAP",
    default: { Sev0: "1", Sev1: "2", Sev2: "2", Sev3: "3", Sev4: "3", none: "3" },
    doc: "severity → impact (`1` high … `3` low)",
  }),
  closeCode: text({ default: "Resolved by caller", doc: "`close_code` on resolve (choice values vary by instance)" }),
  closeNotes: text({ default: "Resolved by secure-export", doc: "`close_notes` on resolve, before who or what resolved it" }),
  ciTable: text({ default: "cmdb_ci", doc: "CMDB table searched by `object_id` (the Azure resource id)" }),
  assignmentGroup: text({ doc: "`assignment_group` of created incidents" }),
  callerId: text({ doc: "`caller_id` of created incidents" }),
  category: text({ doc: "`category` of created incidents" }),
  syncClients: clientIds({ doc: "Entra application (client) ids that may push this connector's ticket changes to `POST /api/connectors/{name}/events` (with the `Itsm.Sync` app role)" }),
  credentialExpiresAt: date({
    doc: "when the password or, with OAuth, the client secret expires (a date like `2027-03-31`, or an instant): an incident opens `CREDENTIAL_WARN_DAYS` before, and the status and metrics show the days left; unset: not watched",
  }),
  pollEvery: period({ minMs: 60_000, doc: "reads the state of this connector's open tickets this often (Table API by `sys_updated_on`, in pages), for instances that cannot call out; unset: no polling" }),
  eventSource: text({
    default: "Azure Monitor",
    maxLength: { max: EVENT_FIELD_MAX.source, why: "ServiceNow's em_event.source" },
    doc: "`source` of Event Management events",
  }),
};

/** Basic auth, or OAuth client credentials (`/oauth_token.do`). */
export const CREDENTIALS = {
  oauth: true,
  basicDoc: "basic auth",
  oauthDoc: "OAuth client credentials (`/oauth_token.do`); preferred when set; the token is cached and renewed a minute before it expires",
} as const;

export type ServiceNowConfig = ConfigOf<"servicenow", typeof SETTINGS, typeof CREDENTIALS>;
