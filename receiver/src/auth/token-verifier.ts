/**
 * Verifies a bearer token end to end: jose checks the signature (RS256 only), lifetime and
 * audience against the cached tenant keys; token-rules decides issuer, tenant, caller and role.
 */
import { errors, jwtVerify, type JWTPayload } from "jose";
import type { AuthConfig } from "../config.ts";
import { SigningKeys, SigningKeysUnavailableError } from "./signing-keys.ts";
import { checkClaims, expandAudiences, type Principal } from "./token-rules.ts";

export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 403; reason: string }
  | { ok: false; status: 503; reason: string };

export interface AccessRule {
  role: string;
  /** Restrict callers (`azp`/`appid`); only the secure webhook does. */
  allowedCallers?: readonly string[];
}

const BEARER = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)$/i;

export function jwksUrl(auth: Pick<AuthConfig, "authority" | "tenantId">): string {
  return `${auth.authority}/${auth.tenantId}/discovery/v2.0/keys`;
}

function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "token is expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return "token is not valid yet";
    if (error.claim === "aud") return "audience is not accepted";
    if (error.claim === "iat") return "token issued in the future";
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

export class TokenVerifier {
  private readonly verified = new Map<string, { payload: JWTPayload; until: number }>();
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
      return { ok: false, status: 401, reason: describeJoseError(error) };
    }

    return checkClaims(payload, {
      tenantId: this.auth.tenantId,
      authority: this.auth.authority,
      role: rule.role,
      ...(rule.allowedCallers ? { allowedCallers: rule.allowedCallers } : {}),
    });
  }

  /** Signature, lifetime and audience, by jose, remembered for tokens that passed. */
  private async verifySignature(token: string): Promise<JWTPayload> {
    const now = this.now();
    const hit = this.verified.get(token);
    if (hit && now < hit.until) return hit.payload;
    this.verified.delete(token);

    const { payload } = await jwtVerify(token, this.keys.getKey, {
      algorithms: ["RS256"],
      audience: this.audiences,
      clockTolerance: this.auth.clockToleranceSeconds,
      requiredClaims: ["exp"],
      currentDate: new Date(now),
    });
    const expiresAt = (payload.exp! + this.auth.clockToleranceSeconds) * 1000;
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { payload, until: Math.min(expiresAt, now + VERIFIED_CACHE_MS) });
    return payload;
  }
}
