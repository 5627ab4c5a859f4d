/**
 * Every status a route answers, for its schema (and so the OpenAPI document): what it answers on
 * success, the errors of its own, and the errors every route of its kind can give. The error
 * bodies all have the one shape of problems.ts.
 */
import type { TSchema } from "typebox";
import { ErrorBody } from "./ledger-schemas.ts";
import { PROBLEM_CODES, type ProblemCode } from "./problems.ts";

const describe = (codes: readonly ProblemCode[]) => codes.map((c) => `\`${c}\`: ${PROBLEM_CODES[c].when}`).join("; ");

/** What any route behind a bearer token can answer besides its own: the token, the keys, a bug, a stalled request. */
const AUTHENTICATED: readonly ProblemCode[] = ["invalid_token", "insufficient_scope", "request_timeout", "internal_error", "signing_keys_unavailable"];

export function responses(success: Record<number, TSchema>, own: readonly ProblemCode[]): Record<number, TSchema> {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of [...own, ...AUTHENTICATED]) {
    const status = PROBLEM_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const result: Record<number, TSchema> = { ...success };
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    result[status] = { ...ErrorBody, description: describe([...new Set(codes)]) } as TSchema;
  }
  return result;
}
