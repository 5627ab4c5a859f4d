/** The identities the local stack plays: one tenant, our app registration, and its callers. */
import { AZNS_WEBHOOK_CLIENT_ID } from "../src/contract.ts";

export const LOCAL_TENANT_ID = "5e1ec7ed-0000-4000-8000-00000000c0de";
/** Our app registration: its App ID URI is the v1 audience, its client id the v2 audience. */
export const LOCAL_APP_ID_URI = "api://secure-export-local";
export const LOCAL_APP_CLIENT_ID = "5e1ec7ed-0000-4000-8000-0000000a9900";
/** A person or tool reading incidents and resolving them by hand. */
export const LOCAL_OPERATOR_CLIENT_ID = "5e1ec7ed-0000-4000-8000-0000000e9e7a";

/** The ITSMs' client applications that push ticket changes (each connector's `syncClients`). */
export const LOCAL_SERVICENOW_SYNC_CLIENT_ID = "5e1ec7ed-0000-4000-8000-00000005e0c1";
export const LOCAL_BMC_HELIX_SYNC_CLIENT_ID = "5e1ec7ed-0000-4000-8000-0000000b3c01";

/** App role assignments, as Entra would put them in `roles`. */
export const LOCAL_ROLE_ASSIGNMENTS: Readonly<Record<string, readonly string[]>> = {
  [AZNS_WEBHOOK_CLIENT_ID]: ["ActionGroupsSecureWebhook"],
  [LOCAL_OPERATOR_CLIENT_ID]: ["Incidents.Read", "Incidents.Operate"],
  [LOCAL_SERVICENOW_SYNC_CLIENT_ID]: ["Itsm.Sync"],
  [LOCAL_BMC_HELIX_SYNC_CLIENT_ID]: ["Itsm.Sync"],
};

export const DEFAULT_ISSUER_PORT = 8079;
export const DEFAULT_RECEIVER_PORT = 8080;

/** A person who signs in to the console on the local issuer's sign-in page. */
export interface LocalUser {
  objectId: string;
  name: string;
  username: string;
  roles: readonly string[];
}

/**
 * The people of the local tenant, one per kind of access, so the console can be tried (and tested)
 * as an operator, as a read-only user, and as someone who was never given a role.
 */
export const LOCAL_USERS: readonly LocalUser[] = [
  { objectId: "5e1ec7ed-0000-4000-8000-00000000a001", name: "Olivia Operator", username: "olivia@secure-export.local", roles: ["Incidents.Read", "Incidents.Operate"] },
  { objectId: "5e1ec7ed-0000-4000-8000-00000000a002", name: "Riley Reader", username: "riley@secure-export.local", roles: ["Incidents.Read"] },
  { objectId: "5e1ec7ed-0000-4000-8000-00000000a003", name: "Nico Newcomer", username: "nico@secure-export.local", roles: [] },
];
