/**
 * A stand-in for the two local token endpoints of Azure managed identities, on loopback:
 * - Container Apps / App Service: GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=…[&client_id=…]
 *   with X-IDENTITY-HEADER = IDENTITY_HEADER (learn.microsoft.com/azure/container-apps/managed-identity);
 * - IMDS: GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=…[&client_id=…] with
 *   Metadata: true (learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token).
 * It refuses what the real endpoints refuse (wrong or missing header, wrong api-version, unknown
 * identity) with Entra-style errors, and answers `access_token` + `expires_on` (epoch seconds, as
 * text) — IMDS also `expires_in`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const CONTAINER_APPS_PATH = "/msi/token";
export const IMDS_PATH = "/metadata/identity/oauth2/token";

export interface TokenRequest {
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
}

export interface ManagedIdentityFake {
  /** IDENTITY_ENDPOINT for Container Apps. */
  identityEndpoint: string;
  /** IDENTITY_HEADER: the secret the platform injects. */
  identityHeader: string;
  imdsEndpoint: string;
  /** Client id of the one user-assigned identity it knows. */
  clientId: string;
  requests: TokenRequest[];
  /** Tokens issued, in order. */
  issued: string[];
  /** Seconds since the epoch the next token expires at (default: clock + 24 h, like Entra's managed-identity tokens). */
  expiresOn: (nowSeconds: number) => number;
  /** The next `count` requests answer 500. */
  failNext(count: number): void;
  close(): Promise<void>;
}

export async function startManagedIdentityFake(options: { now?: () => number } = {}): Promise<ManagedIdentityFake> {
  const now = options.now ?? Date.now;
  let failures = 0;
  const fake = {
    identityHeader: "fake-identity-header-8f3c",
    clientId: "0a1d0a1d-0000-4000-8000-00000000001d",
    requests: [] as TokenRequest[],
    issued: [] as string[],
    expiresOn: (nowSeconds: number) => nowSeconds + 24 * 3600,
    failNext(count: number) {
      failures = count;
    },
  };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const query = Object.fromEntries(url.searchParams);
    fake.requests.push({ path: url.pathname, query, headers: { "x-identity-header": req.headers["x-identity-header"] as string | undefined, metadata: req.headers.metadata as string | undefined } });
    const containerApps = url.pathname === CONTAINER_APPS_PATH;
    if (!containerApps && url.pathname !== IMDS_PATH) return json(res, 404, { error: "not_found" });
    if (req.method !== "GET") return json(res, 405, { error: "invalid_request", error_description: "GET only" });
    if (containerApps && req.headers["x-identity-header"] !== fake.identityHeader) {
      return json(res, 401, { statusCode: 401, message: "Unauthorized: X-IDENTITY-HEADER is missing or wrong" });
    }
    if (!containerApps && req.headers.metadata !== "true") {
      return json(res, 400, { error: "invalid_request", error_description: "Required metadata header not specified" });
    }
    const apiVersion = containerApps ? "2019-08-01" : "2018-02-01";
    if (query["api-version"] !== apiVersion) return json(res, 400, { error: "invalid_request", error_description: `api-version must be ${apiVersion}` });
    if (!query.resource) return json(res, 400, { error: "invalid_request", error_description: "Required audience parameter not specified" });
    if (query.client_id && query.client_id !== fake.clientId) {
      return json(res, 400, { error: "invalid_request", error_description: "Identity not found" });
    }
    if (failures > 0) {
      failures--;
      return json(res, 500, { error: "unknown_error", error_description: "Failed to acquire a token" });
    }
    const nowSeconds = Math.floor(now() / 1000);
    const token = `token-${fake.issued.length + 1}-for-${query.resource}`;
    fake.issued.push(token);
    const expiresOn = fake.expiresOn(nowSeconds);
    json(res, 200, {
      access_token: token,
      expires_on: String(expiresOn),
      resource: query.resource,
      token_type: "Bearer",
      client_id: query.client_id ?? fake.clientId,
      ...(containerApps ? {} : { expires_in: String(expiresOn - nowSeconds), not_before: String(nowSeconds), refresh_token: "" }),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(fake, {
    identityEndpoint: `${base}${CONTAINER_APPS_PATH}`,
    imdsEndpoint: `${base}${IMDS_PATH}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
