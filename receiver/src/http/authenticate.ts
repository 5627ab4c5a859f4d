/**
 * One authentication hook for the whole API: each route declares who may call it
 * (`config: { access: "reader" }`), and this hook checks the bearer token against that rule in
 * `onRequest`, before the body is read, so an unauthenticated caller never gets its body parsed.
 * Routes without `access` (probes, the console's files, the docs) take no token.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Principal } from "../auth/token-rules.ts";
import type { AccessRule } from "../auth/token-verifier.ts";
import type { Access, Verifier } from "./context.ts";
import { problems, sendProblem } from "./problems.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Who may call the route; unset: anyone (no token). */
    access?: Access;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function addAuthentication(app: FastifyInstance, verifier: Verifier, rules: Readonly<Record<Access, AccessRule>>): void {
  app.addHook("onRequest", async (request, reply) => {
    const access = request.routeOptions.config.access;
    if (!access) return;
    const outcome = await verifier.verify(request.headers.authorization, rules[access]);
    if (outcome.ok) {
      request.principal = outcome.principal;
      return;
    }
    // Why a token was refused, never the token.
    request.log.warn({ status: outcome.status, reason: outcome.reason }, "request refused by authentication");
    if (outcome.status === 503) return sendProblem(reply, problems.unavailable("signing_keys_unavailable", outcome.reason));
    return sendProblem(reply, outcome.status === 401 ? problems.invalidToken(outcome.reason) : problems.forbidden(outcome.reason));
  });
}

/** The caller of a route that declares `access` (the hook has refused every other request). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error(`${request.method} ${request.routeOptions.url} reads the caller but declares no access`);
  return request.principal;
}
