/**
 * The Log Analytics query API as the receiver's managed identity calls it, for log evidence
 * (docs/incidents.md#log-evidence): `GET {link}` where the link is the alert's
 * `linkToFilteredSearchResultsAPI` (or `linkToSearchResultsAPI`), i.e.
 * `{LOG_ANALYTICS_ENDPOINT}/v1/workspaces/{id}/query?query=…&timespan=…` or the resource-centric
 * `{LOG_ANALYTICS_ENDPOINT}/v1/{resourceId}/query?…` (Azure/azure-rest-api-specs,
 * specification/operationalinsights/data-plane/…/stable/2022-10-27/OperationalInsights.json:
 * Query_Get, Query_ResourceGet), with a bearer token for https://api.loganalytics.io.
 *
 * The link comes from a payload: it is called only when it names the configured endpoint exactly
 * (scheme, host, port; no user info), so a payload can never make us send our token, or any
 * request, elsewhere. Every call is bounded: 10 s, a `| take 51` on the query, an answer read up to
 * 4 MB, at most 50 rows and 64 KB kept, and no more than the API's 200 requests per 30 s from this
 * process; a 429 waits its Retry-After and tries again, twice at most.
 */
import { LOG_ANALYTICS_PUBLIC_ENDPOINT } from "../contract.ts";
import { boundRows, EVIDENCE_MAX_ROWS, type EvidenceOutcome } from "../incidents/evidence.ts";
import { describeFetchFailure, readCapped, retryAfterMs } from "../network-errors.ts";

export const DEFAULT_LOG_ANALYTICS_ENDPOINT = LOG_ANALYTICS_PUBLIC_ENDPOINT;
/** The token audience of the Log Analytics API (learn.microsoft.com/azure/azure-monitor/logs/api/access-api), also for api.loganalytics.azure.com. */
export const DEFAULT_LOG_ANALYTICS_RESOURCE = "https://api.loganalytics.io";

const TIMEOUT_MS = 10_000;
/** With `| take 51` an answer this large means cells nobody can read in a ticket. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
/** "200 requests per 30 seconds per Microsoft Entra user or client IP address" (Log Analytics API limits). */
export const REQUESTS_PER_WINDOW = 200;
export const WINDOW_MS = 30_000;
const ATTEMPTS = 3;
/** A Retry-After longer than the API's window is not waited for: the evidence would come too late to help. */
const MAX_BACKOFF_MS = WINDOW_MS;

export type LinkCheck = { ok: true; url: URL } | { ok: false; reason: string };

/**
 * Whether a link from a payload may be called: an https URL (http only when the endpoint itself is,
 * on loopback in tests) on exactly the endpoint's host and port, without user info, whose path is
 * a query of the API (`/v1/…/query`). Pure.
 */
export function checkEvidenceLink(link: string, endpoint: string): LinkCheck {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return { ok: false, reason: "the link is not a URL" };
  }
  const allowed = new URL(endpoint);
  if (url.username || url.password) return { ok: false, reason: `the link to ${url.host} carries user info` };
  if (url.protocol !== allowed.protocol || (url.protocol !== "https:" && !isLoopback(allowed.hostname))) {
    return { ok: false, reason: `the link uses ${url.protocol.replace(/:$/, "")}, not ${allowed.protocol.replace(/:$/, "")}` };
  }
  // URL.host is lower case and omits the scheme's default port: `host:443` and `host` compare equal, `host:8443` does not.
  if (url.host !== allowed.host) return { ok: false, reason: `the link's host ${url.host} is not the Log Analytics API ${allowed.host} (LOG_ANALYTICS_ENDPOINT)` };
  const base = allowed.pathname.replace(/\/+$/, "");
  if (!url.pathname.startsWith(`${base}/v1/`) || !/\/query$/i.test(url.pathname) || url.pathname.includes("/../")) {
    return { ok: false, reason: `the link's path ${url.pathname.slice(0, 200)} is not a query of the Log Analytics API` };
  }
  if (!url.searchParams.get("query")) return { ok: false, reason: "the link has no query" };
  return { ok: true, url };
}

export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

export interface LogAnalyticsClient {
  /** Never throws: a refused link, a failure, or the rows. */
  evidence(link: string): Promise<EvidenceOutcome>;
}

export interface LogAnalyticsOptions {
  endpoint: string;
  token: () => Promise<string>;
  fetch?: typeof fetch;
  /** Overridable for tests; default 200 per 30 s. */
  requestsPerWindow?: number;
  windowMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Percent-encodes every parameter (a `+` in KQL must stay a plus, which URLSearchParams would not guarantee to a server). */
function withTake(url: URL): URL {
  const params = [...url.searchParams].map(([key, value]) => [key, key === "query" ? `${value}\n| take ${EVIDENCE_MAX_ROWS + 1}` : value] as const);
  const out = new URL(url);
  out.search = params.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join("&");
  return out;
}

interface QueryResults {
  tables?: Array<{ name?: unknown; columns?: Array<{ name?: unknown; type?: unknown }>; rows?: unknown }>;
}

export function logAnalyticsClient(options: LogAnalyticsOptions): LogAnalyticsClient {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const limit = options.requestsPerWindow ?? REQUESTS_PER_WINDOW;
  const windowMs = options.windowMs ?? WINDOW_MS;
  const sent: number[] = [];

  /** Waits for a slot of the API's window: the limit is the identity's, so this process stays under it on its own. */
  const slot = async () => {
    for (;;) {
      while (sent.length > 0 && sent[0]! <= now() - windowMs) sent.shift();
      if (sent.length < limit) break;
      await sleep(sent[0]! + windowMs - now());
    }
    sent.push(now());
  };

  return {
    async evidence(link) {
      const check = checkEvidenceLink(link, options.endpoint);
      if (!check.ok) return { state: "refused", reason: check.reason };
      const url = withTake(check.url);
      let token: string;
      try {
        token = await options.token();
      } catch (error) {
        return { state: "failed", reason: (error as Error).message };
      }
      for (let attempt = 1; ; attempt++) {
        await slot();
        let response: Response;
        try {
          // Never follow a redirect: it could lead anywhere, with our token.
          response = await doFetch(url, { redirect: "manual", headers: { authorization: `Bearer ${token}`, accept: "application/json" }, signal: AbortSignal.timeout(TIMEOUT_MS) });
        } catch (error) {
          return { state: "failed", reason: `GET ${url.host}${url.pathname}: ${describeFetchFailure(error, TIMEOUT_MS)}` };
        }
        if (response.status === 429) {
          await response.body?.cancel();
          const wait = retryAfterMs(response.headers) ?? 1000;
          if (attempt >= ATTEMPTS || wait > MAX_BACKOFF_MS) return { state: "failed", reason: `the Log Analytics API answered 429 (throttled) ${attempt} time${attempt > 1 ? "s" : ""}` };
          await sleep(wait);
          continue;
        }
        let text: string | null;
        try {
          text = await readCapped(response, MAX_ANSWER_BYTES);
        } catch (error) {
          return { state: "failed", reason: `GET ${url.host}${url.pathname}: ${describeFetchFailure(error, TIMEOUT_MS)}` };
        }
        if (text === null) return { state: "failed", reason: `the Log Analytics API answered more than ${MAX_ANSWER_BYTES} bytes` };
        let body: unknown = null;
        try {
          body = text.trim() ? JSON.parse(text) : null;
        } catch {
          body = null;
        }
        if (response.status !== 200) {
          const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
          const said = typeof error?.message === "string" ? error.message.slice(0, 300) : text.slice(0, 200);
          return { state: "failed", reason: `the Log Analytics API answered ${response.status}${typeof error?.code === "string" ? ` ${error.code}` : ""}: ${said}` };
        }
        const table = (body as QueryResults | null)?.tables?.[0];
        if (!table || !Array.isArray(table.columns) || !Array.isArray(table.rows)) return { state: "failed", reason: "the Log Analytics API answered 200 without a result table" };
        const columns = table.columns.map((c) => ({ name: String(c?.name ?? ""), type: String(c?.type ?? "") }));
        const rows = (table.rows as unknown[]).filter((r): r is unknown[] => Array.isArray(r));
        return { state: "stored", table: boundRows(columns, rows, url.host) };
      }
    },
  };
}
