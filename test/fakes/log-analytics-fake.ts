/**
 * A Log Analytics query API stand-in, on loopback. Every request is checked against the published
 * specification kept in test/fixtures/azure-rest-api-specs/loganalytics-query-2022-10-27.json (source
 * named there): the base path `/v1`, an operation of it (`GET /workspaces/{workspaceId}/query`,
 * `GET /{resourceId}/query`), its query parameters (`query` required, `timespan` an ISO 8601 period
 * or interval, nothing undeclared), and a bearer token whose audience is https://api.loganalytics.io
 * (the managed-identity stand-in names its resource in the token). It applies the API's 200 requests
 * per 30 s (429 with Retry-After), can be told to throttle the next requests, answers the rows it is
 * given, and honours a trailing `| take N` as Kusto does.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  format?: string;
}
interface Spec {
  basePath: string;
  paths: Record<string, Record<string, { operationId: string; parameters: Array<{ $ref: string }> }>>;
  parameters: Record<string, Parameter>;
}

export const SPEC = JSON.parse(readFileSync(new URL("../fixtures/azure-rest-api-specs/loganalytics-query-2022-10-27.json", import.meta.url), "utf8")) as Spec;
export const LOG_ANALYTICS_AUDIENCE = "https://api.loganalytics.io";

export interface LogAnalyticsRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  operationId: string | null;
  status: number;
}

export interface LogAnalyticsFake {
  url: string;
  requests: LogAnalyticsRequest[];
  /** What every query answers (before `| take`). */
  answer: { columns: Array<{ name: string; type: string }>; rows: unknown[][] };
  /** The next `count` requests answer 429 with Retry-After: `retryAfterSeconds`. */
  throttleNext(count: number, retryAfterSeconds: number): void;
  close(): Promise<void>;
}

const ISO_DURATION = /^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/i;
const isInstant = (text: string) => /^\d{4}-\d{2}-\d{2}T/.test(text) && !Number.isNaN(Date.parse(text.replace(/(\.\d{3})\d+/, "$1")));
/** `format: duration` as the API reads it: a period (PT12H), or an interval start/end or start/period. */
function isTimespan(value: string): boolean {
  const parts = value.split("/");
  if (parts.length === 1) return ISO_DURATION.test(value);
  return parts.length === 2 && isInstant(parts[0]!) && (isInstant(parts[1]!) || ISO_DURATION.test(parts[1]!));
}

function operationFor(method: string, path: string): { operationId: string; parameters: Parameter[] } | null {
  if (!path.startsWith(`${SPEC.basePath}/`)) return null;
  const rest = path.slice(SPEC.basePath.length);
  const templates: Array<[string, RegExp]> = [
    ["/workspaces/{workspaceId}/query", /^\/workspaces\/[^/]+\/query$/i],
    // x-ms-skip-url-encoding: the resource id keeps its slashes.
    ["/{resourceId}/query", /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/.+\/query$/i],
  ];
  for (const [template, pattern] of templates) {
    const operation = SPEC.paths[template]?.[method.toLowerCase()];
    if (operation && pattern.test(rest)) return { operationId: operation.operationId, parameters: operation.parameters.map((p) => SPEC.parameters[p.$ref.split("/").pop()!]!) };
  }
  return null;
}

export async function startLogAnalyticsFake(options: { requestsPerWindow?: number; windowMs?: number } = {}): Promise<LogAnalyticsFake> {
  const limit = options.requestsPerWindow ?? 200;
  const windowMs = options.windowMs ?? 30_000;
  const served: number[] = [];
  let throttled = 0;
  let throttleSeconds = 1;
  const fake = {
    requests: [] as LogAnalyticsRequest[],
    answer: {
      columns: [
        { name: "TimeGenerated", type: "datetime" },
        { name: "Computer", type: "string" },
        { name: "CounterValue", type: "real" },
      ],
      rows: [
        ["2026-11-01T09:58:00Z", "vm-1", 97.5],
        ["2026-11-01T09:59:00Z", "vm-1", 99.1],
      ],
    } as LogAnalyticsFake["answer"],
    throttleNext(count: number, retryAfterSeconds: number) {
      throttled = count;
      throttleSeconds = retryAfterSeconds;
    },
  };
  const send = (res: ServerResponse, record: LogAnalyticsRequest, status: number, body: unknown, headers: Record<string, string> = {}) => {
    record.status = status;
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(body));
  };
  // The spec's errorResponse: {"error": {"code", "message"}}.
  const error = (res: ServerResponse, record: LogAnalyticsRequest, status: number, code: string, message: string, headers: Record<string, string> = {}) => send(res, record, status, { error: { code, message } }, headers);

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const target = new URL(req.url ?? "/", "http://localhost");
    const query = Object.fromEntries(target.searchParams);
    const operation = operationFor(req.method ?? "", target.pathname);
    const record: LogAnalyticsRequest = { method: req.method ?? "", path: target.pathname, query, operationId: operation?.operationId ?? null, status: 0 };
    fake.requests.push(record);
    req.resume();
    if (!operation) return error(res, record, 404, "PathNotFoundError", `No operation of the Log Analytics query API matches ${req.method} ${target.pathname}.`);
    const declared = operation.parameters.filter((p) => p.in === "query");
    const unknown = Object.keys(query).find((name) => !declared.some((p) => p.name === name));
    if (unknown) return error(res, record, 400, "BadArgumentError", `The request has a parameter the operation does not declare: ${unknown}.`);
    const missing = declared.find((p) => p.required && !query[p.name]?.trim());
    if (missing) return error(res, record, 400, "BadArgumentError", `The request is missing the required parameter '${missing.name}'.`);
    const timespan = declared.find((p) => p.format === "duration" && query[p.name] !== undefined);
    if (timespan && !isTimespan(query[timespan.name]!)) return error(res, record, 400, "BadArgumentError", `'${timespan.name}' must be an ISO 8601 period or interval, got '${query[timespan.name]}'.`);

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token) return error(res, record, 401, "AuthorizationRequiredError", "Valid authentication was not provided.");
    if (!token.endsWith(`-for-${LOG_ANALYTICS_AUDIENCE}`)) return error(res, record, 401, "InvalidAuthenticationTokenAudience", "The provided authentication is not valid for this resource.");

    const now = Date.now();
    while (served.length > 0 && served[0]! <= now - windowMs) served.shift();
    if (throttled > 0) {
      throttled--;
      return error(res, record, 429, "ThrottledError", "Too many requests.", { "retry-after": String(throttleSeconds) });
    }
    if (served.length >= limit) return error(res, record, 429, "ThrottledError", "Too many requests.", { "retry-after": String(Math.ceil((served[0]! + windowMs - now) / 1000)) });
    served.push(now);
    const take = /\|\s*take\s+(\d+)\s*$/i.exec(query.query!)?.[1];
    const rows = take === undefined ? fake.answer.rows : fake.answer.rows.slice(0, Number(take));
    send(res, record, 200, { tables: [{ name: "PrimaryResult", columns: fake.answer.columns, rows }] });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(fake, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
