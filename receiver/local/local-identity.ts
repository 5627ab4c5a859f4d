/** The identities the local stack plays: one tenant, our app registration, and its callers. */
import { AZNS_WEBHOOK_CLIENT_ID } from "../src/config.ts";

export const LOCAL_TENANT_ID = "5e1ec7ed-0000-4000-8000-00000000c0de";
/** Our app registration: its App ID URI is the v1 audience, its client id the v2 audience. */
export const LOCAL_APP_ID_URI = "api://secure-export-local";
export const LOCAL_APP_CLIENT_ID = "5e1ec7ed-0000-4000-8000-0000000a9900";
/** A person or tool reading incidents and resolving them by hand. */
export const LOCAL_OPERATOR_CLIENT_ID = "5e1ec7ed-0000-4000-8000-0000000e9e7a";

/** App role assignments, as Entra would put them in `roles`. */
export const LOCAL_ROLE_ASSIGNMENTS: Readonly<Record<string, readonly string[]>> = {
  [AZNS_WEBHOOK_CLIENT_ID]: ["ActionGroupsSecureWebhook"],
  [LOCAL_OPERATOR_CLIENT_ID]: ["Incidents.Read", "Incidents.Operate"],
};

export const DEFAULT_ISSUER_PORT = 8079;
export const DEFAULT_RECEIVER_PORT = 8080;
