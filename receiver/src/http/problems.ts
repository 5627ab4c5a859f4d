/**
 * Every error answer the receiver gives, in one place with stable codes. The status codes are a
 * contract with Azure's retry logic (DESIGN.md §3): only 408/429/503/504 are retried.
 */
import type { FastifyReply } from "fastify";

export interface Problem {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

/** Seconds Azure (or any client) should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 10;

function quoted(text: string): string {
  return text.replace(/["\\]/g, "'");
}

export const problems = {
  malformedJson: (detail: string): Problem => ({ status: 400, code: "malformed_json", message: `body is not valid JSON: ${detail}` }),
  invalidRequest: (detail: string): Problem => ({ status: 400, code: "invalid_request", message: detail }),
  invalidCursor: (): Problem => ({ status: 400, code: "invalid_cursor", message: "cursor is not one this API returned" }),
  invalidToken: (reason: string): Problem => ({
    status: 401,
    code: "invalid_token",
    message: reason,
    headers: { "www-authenticate": `Bearer error="invalid_token", error_description="${quoted(reason)}"` },
  }),
  forbidden: (reason: string): Problem => ({
    status: 403,
    code: "insufficient_scope",
    message: reason,
    headers: { "www-authenticate": `Bearer error="insufficient_scope", error_description="${quoted(reason)}"` },
  }),
  notFound: (what: string): Problem => ({ status: 404, code: "not_found", message: `${what} not found` }),
  tooLarge: (limit: number): Problem => ({ status: 413, code: "payload_too_large", message: `body exceeds ${limit} bytes` }),
  unsupportedMediaType: (type: string | undefined): Problem => ({
    status: 415,
    code: "unsupported_media_type",
    message: `content type ${type ? `"${type}"` : "(none)"} is not supported; send application/json`,
  }),
  notCommonAlertSchema: (message: string): Problem => ({
    status: 422,
    code: "not_common_alert_schema",
    message: `not a common alert schema notification: ${message}`,
  }),
  unavailable: (code: "store_unavailable" | "signing_keys_unavailable" | "intake_busy", message: string): Problem => ({
    status: 503,
    code,
    message,
    headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
  }),
  internal: (): Problem => ({ status: 500, code: "internal_error", message: "internal error" }),
};

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  reply.request.outcome = { kind: "rejected", reason: problem.code };
  if (problem.headers) reply.headers(problem.headers);
  return reply.code(problem.status).send({ error: problem.code, message: problem.message });
}
