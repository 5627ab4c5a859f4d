/** ServiceNow as a connector kind: Table API incidents or Event Management events; basic auth or OAuth. */
import { defineKind } from "../kind.ts";
import { ServiceNowEventConnector, ServiceNowTableConnector } from "./client.ts";
import { EVENT_PROFILE, TABLE_PROFILE } from "./fields.ts";
import { CREDENTIALS, SETTINGS } from "./settings.ts";

export const serviceNow = defineKind({
  id: "servicenow",
  label: "ServiceNow",
  prefix: "SERVICENOW_",
  credentials: CREDENTIALS,
  settings: SETTINGS,
  profiles: [TABLE_PROFILE, EVENT_PROFILE],
  profileOf: (spec) => (spec.mode === "event" ? EVENT_PROFILE : TABLE_PROFILE),
  create: (name, config) => (config.mode === "event" ? new ServiceNowEventConnector(name, config) : new ServiceNowTableConnector(name, config)),
});
