/**
 * The decisions (docs/configuration.md#how-tokens-are-checked) about an Entra token whose signature, lifetime and audience
 * have already been verified: which issuer, which token version, which tenant, caller and role.
 * Pure, so every rule is tested without keys or servers.
 */

export interface Claims {
  iss?: unknown;
  tid?: unknown;
  ver?: unknown;
  azp?: unknown;
  appid?: unknown;
  oid?: unknown;
  roles?: unknown;
  idtyp?: unknown;
  /** A person's display name (v1 and v2 user tokens). */
  name?: unknown;
  /** Sign-in names: v2's preferred_username, v1's upn and unique_name. */
  preferred_username?: unknown;
  upn?: unknown;
  unique_name?: unknown;
  scp?: unknown;
}

export interface Requirement {
  tenantId: string;
  authority: string;
  role: string;
  /** Lower-cased client ids allowed as caller; undefined lets any caller of the tenant through. */
  allowedCallers?: readonly string[];
  /**
   * Only an application's own token (client credentials): no user's delegated token, even one
   * whose user holds the role. Entra marks app-only tokens `idtyp: app` when asked and gives
   * delegated ones `scp`.
   */
  appOnly?: boolean;
}

export interface Principal {
  tenantId: string;
  objectId: string | null;
  /** What to call them: the token's display name or sign-in name; null for an application. */
  name: string | null;
  callerId: string;
  tokenVersion: "1.0" | "2.0";
  roles: string[];
}

export type ClaimsVerdict =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 403; reason: string };

const V1_ISSUER = /^https:\/\/sts\.windows\.net\/([^/]+)\/$/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function issuerTenant(iss: string, authority: string): { tenant: string; version: "1.0" | "2.0" } | null {
  const v1 = V1_ISSUER.exec(iss);
  if (v1?.[1]) return { tenant: v1[1].toLowerCase(), version: "1.0" };
  const v2 = new RegExp(`^${escapeRegExp(authority)}/([^/]+)/v2\\.0$`).exec(iss);
  if (v2?.[1]) return { tenant: v2[1].toLowerCase(), version: "2.0" };
  return null;
}

const reject = (status: 401 | 403, reason: string): ClaimsVerdict => ({ ok: false, status, reason });

export function checkClaims(claims: Claims, requirement: Requirement): ClaimsVerdict {
  if (typeof claims.iss !== "string") return reject(401, "token has no issuer");
  const issuer = issuerTenant(claims.iss, requirement.authority);
  if (!issuer) return reject(401, "issuer is not an Entra v1 or v2 issuer of this authority");

  // A v1 issuer with v2 claims (or the reverse) is not something Entra issues: refuse the mix
  // rather than guess which caller claim to trust.
  if (claims.ver !== undefined && claims.ver !== issuer.version) {
    return reject(401, `issuer is v${issuer.version} but token version is ${String(claims.ver)}`);
  }
  const callerClaim = issuer.version === "1.0" ? claims.appid : claims.azp;
  const foreignClaim = issuer.version === "1.0" ? claims.azp : claims.appid;
  if (typeof callerClaim !== "string" || callerClaim === "") {
    return reject(401, `v${issuer.version} token has no ${issuer.version === "1.0" ? "appid" : "azp"} claim`);
  }
  if (foreignClaim !== undefined) {
    return reject(401, `v${issuer.version} token carries the other version's caller claim`);
  }

  if (typeof claims.tid !== "string" || claims.tid.toLowerCase() !== issuer.tenant) {
    return reject(401, "tid does not match the issuer's tenant");
  }
  if (issuer.tenant !== requirement.tenantId.toLowerCase()) {
    return reject(403, "token was issued for another tenant");
  }

  const callerId = callerClaim.toLowerCase();
  if (requirement.allowedCallers && !requirement.allowedCallers.includes(callerId)) {
    return reject(403, `caller ${callerId} is not an allowed caller`);
  }

  if (requirement.appOnly && (claims.scp !== undefined || (claims.idtyp !== undefined && claims.idtyp !== "app"))) {
    return reject(403, "a user's token cannot be used here: the application's own token (client credentials) is needed");
  }

  const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === "string") : [];
  if (!roles.includes(requirement.role)) return reject(403, `token lacks the ${requirement.role} role`);

  return {
    ok: true,
    principal: {
      tenantId: issuer.tenant,
      objectId: typeof claims.oid === "string" ? claims.oid : null,
      name: nameOf(claims),
      callerId,
      tokenVersion: issuer.version,
      roles,
    },
  };
}

/** The first name-like claim a person's token carries, shortened (it is the caller's and goes into the ledger). */
function nameOf(claims: Claims): string | null {
  for (const value of [claims.name, claims.preferred_username, claims.upn, claims.unique_name]) {
    if (typeof value === "string" && value.trim()) return value.trim().slice(0, 200);
  }
  return null;
}

/** Who acted, as the timeline shows them (a name where the token has one) and as they are identified. */
export function actorOf(principal: Principal): { name: string; id: string } {
  const id = principal.objectId ?? principal.callerId;
  return { name: principal.name ?? id, id };
}

/** Accepted `aud` values: each configured audience, and an App ID URI with or without its trailing slash. */
export function expandAudiences(audiences: readonly string[]): string[] {
  const all = new Set<string>();
  for (const audience of audiences) {
    all.add(audience);
    if (audience.includes("://")) {
      all.add(audience.endsWith("/") ? audience.replace(/\/+$/, "") : `${audience}/`);
    }
  }
  return [...all];
}
