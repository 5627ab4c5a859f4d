/** HTTP for connectors: every failure becomes a DeliveryError that says whether a retry can help, and why. */
import { describeFetchFailure, readCapped, retryAfterMs } from "../network-errors.ts";
import { DeliveryError, type ConnectorCheck } from "../outbox/delivery.ts";

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
  /** What the request carried that must never be repeated in an error (its credentials). */
  secrets: readonly string[];
}

const REQUEST_TIMEOUT_MS = 20_000;

/**
 * The most of an answer read. An ITSM tool's answers to our calls (one record, a lookup of a few,
 * a token) are a few KB; a broken or hostile endpoint answering 200 MB added about 600 MB to the
 * receiver before the timeout. Past this the connection is cut.
 */
export const MAX_ANSWER_BYTES = 1_048_576;

/** Form fields whose values are credentials (OAuth client credentials, BMC Helix's login). */
const SECRET_FIELDS = ["password", "client_secret", "refresh_token", "assertion", "client_assertion"];

function secretsOf(init: { headers?: Record<string, string>; body?: string | URLSearchParams }): string[] {
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    if (name.toLowerCase() !== "authorization") continue;
    secrets.push(value);
    // The credential without its scheme, and a Basic credential decoded (user:password, and the password).
    const credential = value.replace(/^\S+\s+/, "");
    secrets.push(credential);
    if (/^basic\s/i.test(value)) {
      const decoded = Buffer.from(credential, "base64").toString("utf8");
      secrets.push(decoded, decoded.slice(decoded.indexOf(":") + 1));
    }
  }
  if (init.body instanceof URLSearchParams) for (const field of SECRET_FIELDS) secrets.push(...init.body.getAll(field));
  return secrets.filter((s) => s.length >= 4);
}

export async function httpRequest(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string | URLSearchParams },
  options: { maxAnswerBytes?: number } = {},
): Promise<HttpResponse> {
  const what = `${init.method} ${new URL(url).pathname}`;
  const limit = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
  try {
    const response = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await readCapped(response, limit);
    if (text === null) {
      throw new DeliveryError(`${what} answered ${response.status} with a body over ${limit} bytes; stopped reading it (is the URL the tool's API?)`, { retryable: true });
    }
    return { status: response.status, headers: response.headers, text, secrets: secretsOf(init) };
  } catch (error) {
    if (error instanceof DeliveryError) throw error;
    // Timeouts, refused and reset connections: the request may or may not have been applied,
    // which every connector tolerates by looking up before creating. The cause (ECONNREFUSED,
    // ENOTFOUND, a certificate error…) is what an operator needs; "fetch failed" alone is not.
    throw new DeliveryError(`${what}: ${describeFetchFailure(error, REQUEST_TIMEOUT_MS)}`, { retryable: true });
  }
}

const text = (value: unknown): string | null => (typeof value === "string" && value.trim() ? value.trim() : typeof value === "number" ? String(value) : null);

/**
 * The error code and message of a tool's error answer, in the shapes the tools document:
 * ServiceNow's `{"error": {"message", "detail"}, "status": "failure"}`, BMC Helix's
 * `[{"messageType", "messageNumber", "messageText", "messageAppendedText"}]`, OAuth's
 * `{"error", "error_description"}`, and the common `{"code", "message"}`. Nothing else of the body.
 */
function errorFields(body: unknown): string | null {
  const first = Array.isArray(body) ? body[0] : body;
  if (!first || typeof first !== "object") return null;
  const o = first as Record<string, unknown>;
  const nested = o.error && typeof o.error === "object" ? (o.error as Record<string, unknown>) : null;
  const code = text(o.messageNumber) ?? text(nested?.code) ?? (nested ? null : text(o.error)) ?? text(o.code) ?? text(o.errorCode);
  const message = [text(nested?.message), text(nested?.detail), text(o.messageText), text(o.messageAppendedText), text(o.error_description), text(o.message)]
    .filter((m): m is string => m !== null)
    .join(": ");
  if (!code && !message) return null;
  return [code, message].filter(Boolean).join(" ");
}

/** Removes what the request sent as credentials, and anything shaped like a credential, from a tool's words. */
function redact(said: string, secrets: readonly string[]): string {
  let clean = said;
  for (const secret of secrets) clean = clean.split(secret).join("[redacted]");
  return clean
    .replace(/\b(Basic|Bearer|AR-JWT|Negotiate|Digest)\s+[A-Za-z0-9+/=._~-]{8,}/gi, "$1 [redacted]")
    .replace(/\b(password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|authorization)(["']?\s*[:=]\s*["']?)[^\s"',;&}]+/gi, "$1$2[redacted]");
}

/**
 * What a tool said about a failed call, safe to keep in a delivery's lastError (which readers see)
 * and in the log: its error code and message only, never headers or the body as a whole (a tool that
 * echoes the request would hand out the connector's credentials), shortened.
 */
export function toolSaid(response: HttpResponse, max = 300): string {
  let said: string | null = null;
  try {
    said = errorFields(JSON.parse(response.text));
  } catch {
    // Not JSON: a one-line plain-text answer may be a message; an HTML page or anything longer is not shown.
    const type = response.headers.get("content-type") ?? "";
    const line = response.text.trim();
    if (/^text\/plain\b/i.test(type) && line && !line.includes("\n") && line.length <= max) said = line;
  }
  if (said === null) return response.text.trim() ? `(a ${response.headers.get("content-type")?.split(";")[0] ?? "body"} of ${Buffer.byteLength(response.text)} bytes, not shown)` : "(empty body)";
  const clean = redact(said, response.secrets);
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * 408, 429 and 5xx are worth retrying, and so are 401/403: credentials and permissions get fixed
 * without the alert changing. Other statuses mean the request itself is wrong: dead-letter it.
 */
export function failure(what: string, response: HttpResponse, detail = toolSaid(response)): DeliveryError {
  const retryable = response.status === 408 || response.status === 429 || response.status >= 500 || response.status === 401 || response.status === 403;
  const after = retryAfterMs(response.headers);
  return new DeliveryError(`${what} answered ${response.status}: ${detail}`, { retryable, ...(after === undefined ? {} : { retryAfterMs: after }) });
}

export function parseJson<T>(what: string, response: HttpResponse): T {
  try {
    return JSON.parse(response.text) as T;
  } catch {
    throw new DeliveryError(`${what} answered ${response.status} with a body that is not JSON`, { retryable: true });
  }
}

/** What a connector's start-up check found, in one line an operator can act on. */
/** A check's verdict on one authenticated answer: accepted, credentials refused, access denied, or broken. */
export function checkVerdict(tool: string, response: HttpResponse, credentials: string): ConnectorCheck {
  const said = toolSaid(response, 200);
  if (response.status >= 200 && response.status < 300) return { ok: true, detail: `${tool} is reachable and accepted the ${credentials}` };
  if (response.status === 401) return { ok: false, detail: `${tool} is reachable but refused the ${credentials} (401): ${said}` };
  if (response.status === 403) return { ok: false, detail: `${tool} accepted the ${credentials} but denies access (403): ${said}` };
  return { ok: false, detail: `${tool} answered ${response.status}: ${said}` };
}
