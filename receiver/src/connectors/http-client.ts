/** HTTP for connectors: every failure becomes a DeliveryError that says whether a retry can help, and why. */
import { describeFetchFailure, retryAfterMs } from "../network-errors.ts";
import { DeliveryError, type ConnectorCheck } from "../outbox/delivery.ts";

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
}

const REQUEST_TIMEOUT_MS = 20_000;

export async function httpRequest(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string | URLSearchParams },
): Promise<HttpResponse> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    // Timeouts, refused and reset connections: the request may or may not have been applied,
    // which every connector tolerates by looking up before creating. The cause (ECONNREFUSED,
    // ENOTFOUND, a certificate error…) is what an operator needs; "fetch failed" alone is not.
    throw new DeliveryError(`${init.method} ${new URL(url).pathname}: ${describeFetchFailure(error, REQUEST_TIMEOUT_MS)}`, { retryable: true });
  }
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/**
 * 408, 429 and 5xx are worth retrying, and so are 401/403: credentials and permissions get fixed
 * without the alert changing. Other statuses mean the request itself is wrong: dead-letter it.
 */
export function failure(what: string, response: HttpResponse, detail = response.text.slice(0, 500)): DeliveryError {
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
  const said = response.text.trim().slice(0, 200) || "(empty body)";
  if (response.status >= 200 && response.status < 300) return { ok: true, detail: `${tool} is reachable and accepted the ${credentials}` };
  if (response.status === 401) return { ok: false, detail: `${tool} is reachable but refused the ${credentials} (401): ${said}` };
  if (response.status === 403) return { ok: false, detail: `${tool} accepted the ${credentials} but denies access (403): ${said}` };
  return { ok: false, detail: `${tool} answered ${response.status}: ${said}` };
}
