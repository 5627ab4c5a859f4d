/**
 * Why an outgoing HTTP request failed, in words an operator can act on. Node's fetch reports every
 * network failure as "fetch failed" and hides the reason in `cause` (ECONNREFUSED, ENOTFOUND,
 * CERT_HAS_EXPIRED, …); a timeout from AbortSignal.timeout is a TimeoutError. And when a server asks
 * to be called again, and how much of its answer we read: the same rules for every service called.
 */

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code !== "" ? code : undefined;
}

/** The innermost useful error: undici wraps socket errors, and happy eyeballs wraps them in an AggregateError. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth += 1) {
    const next = current instanceof AggregateError && current.errors.length > 0 ? current.errors[0] : (current as { cause?: unknown } | null)?.cause;
    if (next === undefined || next === null) break;
    current = next;
  }
  return current;
}

export function describeFetchFailure(error: unknown, timeoutMs?: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return timeoutMs === undefined ? "timed out" : `timed out after ${timeoutMs} ms`;
  }
  const root = rootCause(error);
  // AggregateError carries the code on itself and the address on its members.
  const code = codeOf(root) ?? codeOf((error as { cause?: unknown } | null)?.cause) ?? codeOf(error);
  // OpenSSL's messages end with a newline; a log line should not.
  const message = (root instanceof Error && root.message ? root.message : error instanceof Error ? error.message : String(error)).trim();
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** When a server asks to be called again (Retry-After: seconds or an HTTP date), in ms from now. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Reads at most `limit` bytes of an answer's body; past that (declared or counted), cuts the
 * connection and answers null. A remote service must not make the receiver buffer what it likes.
 */
export async function readCapped(response: Response, limit: number): Promise<string | null> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel();
    return null;
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
