/**
 * Every error answer the receiver gives, in one place, each with a stable code: `{"error": code,
 * "message": "…"}`. The status codes are a contract with Azure's retry logic
 * (docs/http-api.md#http-api): Azure retries only 408, 429, 503 and 504, so a 503 means "this can
 * succeed later" and nothing that cannot succeed on retry is ever answered with one.
 */
import type { FastifyReply } from "fastify";

/** The codes, their status and when they are answered: docs/http-api.md's error table is checked against this. */
export const PROBLEM_CODES = {
  malformed_json: { status: 400, when: "the body is not valid JSON" },
  invalid_request: { status: 400, when: "a parameter, query string, URL or request framing is invalid; the message says which" },
  invalid_cursor: { status: 400, when: "`cursor` is not one this API returned" },
  invalid_token: { status: 401, when: "no, invalid or expired token (with `WWW-Authenticate: Bearer error=\"invalid_token\"`)" },
  insufficient_scope: { status: 403, when: "a valid token without the tenant, caller or role the route needs" },
  not_found: { status: 404, when: "no such route, incident, CI or delivery" },
  request_timeout: { status: 408, when: "the request did not arrive within `REQUEST_TIMEOUT_SECONDS`" },
  not_dead_lettered: { status: 409, when: "a replay of a delivery that is not dead-lettered" },
  payload_too_large: { status: 413, when: "the body is over `BODY_LIMIT_BYTES`" },
  uri_too_long: { status: 414, when: "a path parameter is over 2,048 characters" },
  unsupported_media_type: { status: 415, when: "the content type is not `application/json`" },
  unsupported_content_encoding: { status: 415, when: "the body is compressed (`Content-Encoding` other than `identity`)" },
  not_common_alert_schema: { status: 422, when: "JSON that is not a common alert schema notification the ledger can hold; the message names the field" },
  header_too_large: { status: 431, when: "the request's headers (URL included) are too large" },
  internal_error: { status: 500, when: "a bug in the receiver; it is logged" },
  store_unavailable: { status: 503, when: "the database cannot be reached or failed as a server: nothing was stored, retry (`Retry-After`)" },
  signing_keys_unavailable: { status: 503, when: "the tenant's signing keys (or a newly published one) cannot be fetched yet: retry (`Retry-After`)" },
  intake_busy: { status: 503, when: "the intake queue is full or the receiver is shutting down: nothing was stored, retry (`Retry-After`)" },
  itsm_unavailable: { status: 503, when: "an ITSM event needs its ticket read back and the tool did not answer: nothing was applied, retry (`Retry-After`)" },
} as const;

export type ProblemCode = keyof typeof PROBLEM_CODES;

export interface Problem {
  status: number;
  code: ProblemCode;
  message: string;
  headers?: Record<string, string>;
}

/** Seconds Azure (or any client) should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 10;

function quoted(text: string): string {
  return text.replace(/["\\]/g, "'");
}

const problem = (code: ProblemCode, message: string, headers?: Record<string, string>): Problem => ({
  status: PROBLEM_CODES[code].status,
  code,
  message,
  ...(headers ? { headers } : {}),
});

export const problems = {
  malformedJson: (detail: string) => problem("malformed_json", `body is not valid JSON: ${detail}`),
  invalidRequest: (detail: string) => problem("invalid_request", detail),
  invalidCursor: () => problem("invalid_cursor", "cursor is not one this API returned"),
  invalidToken: (reason: string) =>
    problem("invalid_token", reason, { "www-authenticate": `Bearer error="invalid_token", error_description="${quoted(reason)}"` }),
  forbidden: (reason: string) =>
    problem("insufficient_scope", reason, { "www-authenticate": `Bearer error="insufficient_scope", error_description="${quoted(reason)}"` }),
  notFound: (what: string) => problem("not_found", `${what} not found`),
  requestTimeout: (seconds: number) => problem("request_timeout", `the request did not arrive within ${seconds} s`),
  notDeadLettered: (id: string, status: string) => problem("not_dead_lettered", `delivery ${id} is ${status}; only dead-lettered deliveries are replayed`),
  tooLarge: (limit: number) => problem("payload_too_large", `body exceeds ${limit} bytes`),
  uriTooLong: () => problem("uri_too_long", "a path parameter is longer than 2048 characters"),
  unsupportedMediaType: (type: string | undefined) =>
    problem("unsupported_media_type", `content type ${type ? `"${type}"` : "(none)"} is not supported; send application/json`),
  unsupportedContentEncoding: (encoding: string) =>
    problem("unsupported_content_encoding", `content encoding "${encoding}" is not supported; send the JSON uncompressed`),
  notCommonAlertSchema: (message: string) => problem("not_common_alert_schema", `not a common alert schema notification: ${message}`),
  headerTooLarge: () => problem("header_too_large", "the request headers (URL included) are too large"),
  unavailable: (code: "store_unavailable" | "signing_keys_unavailable" | "intake_busy" | "itsm_unavailable", message: string) =>
    problem(code, message, { "retry-after": String(RETRY_AFTER_SECONDS) }),
  internal: () => problem("internal_error", "internal error"),
};

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  reply.request.outcome = { kind: "rejected", reason: p.code };
  if (p.headers) reply.headers(p.headers);
  return reply.code(p.status).send({ error: p.code, message: p.message });
}

/** The same answer written straight to a socket, for errors Node's HTTP parser meets before any route. */
export function rawProblem(p: Problem, statusText: string): string {
  const body = JSON.stringify({ error: p.code, message: p.message });
  const headers = Object.entries(p.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return `HTTP/1.1 ${p.status} ${statusText}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${headers}Connection: close\r\n\r\n${body}`;
}
