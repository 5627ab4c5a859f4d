/**
 * Azure Resource Manager as the receiver's managed identity calls it: `{endpoint}{path}?api-version=…`
 * with a bearer token for the endpoint's resource. Every answer is read with a size cap, and every
 * failure says whether trying again can help, when (Retry-After, as ARM sends it with 429 and with
 * long-running operations), and what ARM said (its `error.code` and `error.message`, never headers).
 *
 * The endpoint is AZURE_RESOURCE_MANAGER_ENDPOINT (https://management.azure.com, or a sovereign
 * cloud's); the token's resource is the same origin (learn.microsoft.com/azure/azure-resource-manager/
 * management/azure-services-resource-providers: the `.default` scope of the management endpoint).
 */
import { describeFetchFailure, readCapped, retryAfterMs } from "../network-errors.ts";

export const DEFAULT_ARM_ENDPOINT = "https://management.azure.com";
/** ARM's answers the receiver reads (an alert, a notification status, a page of Resource Graph rows) are far smaller. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
const TIMEOUT_MS = 20_000;

export class ArmError extends Error {
  readonly status: number | null;
  /** ARM's `error.code` (AuthorizationFailed, ResourceNotFound, …), when it sent one. */
  readonly armCode: string | null;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { status: number | null; armCode: string | null; retryable: boolean; retryAfterMs?: number }) {
    super(message);
    this.name = "ArmError";
    this.status = options.status;
    this.armCode = options.armCode;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export interface ArmResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON answer; null for an empty body. */
  body: unknown;
}

export interface ArmRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** An ARM path (`/subscriptions/…/providers/…`) or an absolute URL ARM returned (a Location header), on the same host. */
  path: string;
  apiVersion?: string;
  query?: Readonly<Record<string, string>>;
  body?: unknown;
}

export interface ArmClient {
  readonly endpoint: string;
  /** Answers 2xx; anything else is an ArmError. */
  request(request: ArmRequest): Promise<ArmResponse>;
}

export function armClient(options: { endpoint?: string; token: () => Promise<string>; fetch?: typeof fetch }): ArmClient {
  const endpoint = (options.endpoint ?? DEFAULT_ARM_ENDPOINT).replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  return {
    endpoint,
    async request(request) {
      const url = new URL(/^https?:\/\//.test(request.path) ? request.path : `${endpoint}${request.path}`);
      // A Location header ARM returns names ARM itself; a payload or a header must never make us send our token elsewhere.
      if (url.origin !== new URL(endpoint).origin) throw new ArmError(`refusing to call ${url.origin}: it is not ${endpoint}`, { status: null, armCode: null, retryable: false });
      if (request.apiVersion) url.searchParams.set("api-version", request.apiVersion);
      for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
      const token = await options.token();
      let response: Response;
      try {
        response = await doFetch(url, {
          method: request.method,
          redirect: "manual",
          headers: { authorization: `Bearer ${token}`, accept: "application/json", ...(request.body === undefined ? {} : { "content-type": "application/json" }) },
          ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        throw new ArmError(`${request.method} ${url.pathname}: ${describeFetchFailure(error, TIMEOUT_MS)}`, { status: null, armCode: null, retryable: true });
      }
      const text = await readCapped(response, MAX_ANSWER_BYTES);
      if (text === null) throw new ArmError(`Azure Resource Manager answered more than ${MAX_ANSWER_BYTES} bytes`, { status: response.status, armCode: null, retryable: false });
      let body: unknown = null;
      if (text.trim()) {
        try {
          body = JSON.parse(text);
        } catch {
          body = null;
        }
      }
      if (response.status >= 200 && response.status < 300) return { status: response.status, headers: response.headers, body };
      const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      const armCode = typeof error?.code === "string" ? error.code : null;
      const said = typeof error?.message === "string" ? error.message.slice(0, 500) : text.slice(0, 200);
      const after = retryAfterMs(response.headers);
      // 429 and 5xx pass; 401/403/404/409 need someone to change something (a role, a scope) first.
      const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
      throw new ArmError(`${request.method} ${url.pathname} answered ${response.status}${armCode ? ` ${armCode}` : ""}: ${said}`, {
        status: response.status,
        armCode,
        retryable,
        ...(after === undefined ? {} : { retryAfterMs: after }),
      });
    },
  };
}
