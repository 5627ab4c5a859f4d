import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import type { Principal } from "../auth/token-rules.ts";
import type { AccessRule, TokenVerifier } from "../auth/token-verifier.ts";
import { problems, sendProblem } from "./problems.ts";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/**
 * An onRequest hook: runs before the body is read, so an unauthenticated caller never gets
 * its body parsed. Logs why a token was refused, never the token.
 */
export function authenticate(verifier: TokenVerifier, rule: AccessRule): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const outcome = await verifier.verify(request.headers.authorization, rule);
    if (outcome.ok) {
      request.principal = outcome.principal;
      return;
    }
    request.log.warn({ status: outcome.status, reason: outcome.reason }, "request refused by authentication");
    if (outcome.status === 503) return sendProblem(reply, problems.unavailable("signing_keys_unavailable", outcome.reason));
    return sendProblem(reply, outcome.status === 401 ? problems.invalidToken(outcome.reason) : problems.forbidden(outcome.reason));
  };
}
