/**
 * Verifies a bearer token end to end: jose checks the signature (RS256 only), lifetime and
 * audience against the cached tenant keys; token-rules decides issuer, tenant, caller and role.
 */
import { errors, jwtVerify, type JWTPayload } from "jose";
import type { AuthConfig } from "./auth-config.ts";
import { SigningKeys, SigningKeysUnavailableError } from "./signing-keys.ts";
import { checkClaims, expandAudiences, type Principal } from "./token-rules.ts";

export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 403; reason: string }
  | { ok: false; status: 503; reason: string };

export interface AccessRule {
  role: string;
  /** Restrict callers (`azp`/`appid`): the secure webhook, and ITSM sync clients. */
  allowedCallers?: readonly string[];
  /** Applications' own tokens only (ITSM sync clients). */
  appOnly?: boolean;
}

const BEARER = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)$/i;

export function jwksUrl(auth: Pick<AuthConfig, "authority" | "tenantId">): string {
  return `${auth.authority}/${auth.tenantId}/discovery/v2.0/keys`;
}

/** A claim value from the token, quoted and shortened: it is the caller's, and it goes into logs and answers. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? "nothing";
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "token is expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return "token is not valid yet";
    // Which aud arrived is what tells an operator that ENTRA_AUDIENCES lacks the App ID URI or client id.
    if (error.claim === "aud") return `audience ${shown(error.payload.aud)} is not accepted`;
    return `claim ${error.claim} is invalid: ${error.reason}`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return "signing algorithm is not allowed";
  if (error instanceof errors.JWKSNoMatchingKey) return "token is signed with an unknown key";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "signature is invalid";
  if (error instanceof errors.JOSEError) return "token is malformed";
  return "token could not be verified";
}

/**
 * Azure Monitor reuses one token for up to an hour, so an alert storm repeats the same RS256
 * verification thousands of times. Verified payloads are remembered briefly; the claim rules
 * still run on every request, and nothing outlives the token's own exp.
 */
const VERIFIED_CACHE_SIZE = 1000;
const VERIFIED_CACHE_MS = 5 * 60_000;

class TokenIssuedInFutureError extends Error {}

export class TokenVerifier {
  /** A token verified under one key set is verified again once the set changes: a removed key stops counting at once. */
  private readonly verified = new Map<string, { payload: JWTPayload; until: number; generation: number }>();
  private readonly auth: AuthConfig;
  private readonly keys: SigningKeys;
  private readonly audiences: string[];
  private readonly now: () => number;

  constructor(auth: AuthConfig, keys: SigningKeys, now: () => number = Date.now) {
    this.auth = auth;
    this.keys = keys;
    this.audiences = expandAudiences(auth.audiences);
    this.now = now;
  }

  async verify(authorization: string | undefined, rule: AccessRule): Promise<AuthOutcome> {
    if (!authorization) return { ok: false, status: 401, reason: "no bearer token" };
    const token = BEARER.exec(authorization)?.[1];
    if (!token) return { ok: false, status: 401, reason: "authorization is not a bearer token" };

    let payload: JWTPayload;
    try {
      payload = await this.verifySignature(token);
    } catch (error) {
      if (error instanceof SigningKeysUnavailableError) return { ok: false, status: 503, reason: error.message };
      if (error instanceof TokenIssuedInFutureError) return { ok: false, status: 401, reason: error.message };
      return { ok: false, status: 401, reason: describeJoseError(error) };
    }

    return checkClaims(payload, {
      tenantId: this.auth.tenantId,
      authority: this.auth.authority,
      role: rule.role,
      ...(rule.allowedCallers ? { allowedCallers: rule.allowedCallers } : {}),
      ...(rule.appOnly ? { appOnly: true } : {}),
    });
  }

  /** Signature, lifetime and audience, by jose, remembered for tokens that passed. */
  private async verifySignature(token: string): Promise<JWTPayload> {
    const now = this.now();
    const hit = this.verified.get(token);
    if (hit && now < hit.until && hit.generation === this.keys.generation) return hit.payload;
    this.verified.delete(token);

    // Read before verifying: if the key set changes meanwhile, this entry is verified again next time.
    const generation = this.keys.generation;
    const { payload } = await jwtVerify(token, this.keys.getKey, {
      algorithms: ["RS256"],
      audience: this.audiences,
      clockTolerance: this.auth.clockToleranceSeconds,
      requiredClaims: ["exp"],
      currentDate: new Date(now),
    });
    // jose checks iat only together with maxTokenAge; Entra tokens are never issued ahead of time.
    if (typeof payload.iat === "number" && payload.iat > now / 1000 + this.auth.clockToleranceSeconds) {
      throw new TokenIssuedInFutureError("token is issued in the future");
    }
    const expiresAt = (payload.exp! + this.auth.clockToleranceSeconds) * 1000;
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { payload, until: Math.min(expiresAt, now + VERIFIED_CACHE_MS), generation });
    return payload;
  }
}
