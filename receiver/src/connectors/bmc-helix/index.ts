/** BMC Helix ITSM as a connector kind: AR-JWT login, incidents through HPD:IncidentInterface_Create. */
import { defineKind } from "../kind.ts";
import { BmcHelixConnector } from "./client.ts";
import { INCIDENT_PROFILE } from "./fields.ts";
import { CREDENTIALS, SETTINGS } from "./settings.ts";

export const bmcHelix = defineKind({
  id: "bmc-helix",
  label: "BMC Helix",
  prefix: "BMC_HELIX_",
  credentials: CREDENTIALS,
  settings: SETTINGS,
  profiles: [INCIDENT_PROFILE],
  profileOf: () => INCIDENT_PROFILE,
  create: (name, config) => new BmcHelixConnector(name, config),
});
