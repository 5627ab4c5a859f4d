/**
 * Access tokens of the receiver's managed identity, for one resource each: Azure Database for
 * PostgreSQL (the database password with DATABASE_AUTH=azure-managed-identity; pg asks for it on
 * every new connection), Azure Resource Manager, the Log Analytics API. A cached token is reused
 * until shortly before it expires; callers asking at once share one request.
 *
 * Where the token comes from (Microsoft's documented local endpoints, no SDK needed):
 * - Container Apps (and App Service) set IDENTITY_ENDPOINT and IDENTITY_HEADER:
 *   GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=…&client_id=…
 *   with header X-IDENTITY-HEADER: {IDENTITY_HEADER}
 *   (learn.microsoft.com/azure/container-apps/managed-identity, "Connect to Azure services in app code");
 * - elsewhere in Azure, the Instance Metadata Service:
 *   GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=…&client_id=…
 *   with header Metadata: true
 *   (learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token).
 * Both answer JSON with `access_token` and `expires_on` (seconds since the epoch, as text or a
 * number); IMDS also gives `expires_in`. Written here rather than with @azure/identity: two GET
 * requests do not justify its dependency tree in the image, and the cache policy is ours.
 */
export const IMDS_TOKEN_ENDPOINT = "http://169.254.169.254/metadata/identity/oauth2/token";
/** Refresh this long before expiry: a connection opened with a token must not outlive it by surprise. */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;

export class ManagedIdentityTokenError extends Error {
  /** Stable code for logs and alerts, per purpose (DATABASE_TOKEN_UNAVAILABLE). */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ManagedIdentityTokenError";
    this.code = code;
  }
}

export interface ManagedIdentityTokenOptions {
  /** The resource the token is for (its audience), e.g. https://management.azure.com. */
  resource: string;
  /** How errors name the token ("database token"), and their stable code ("DATABASE_TOKEN_UNAVAILABLE"). */
  purpose: string;
  code: string;
  /** Client id of the user-assigned identity (AZURE_CLIENT_ID); unset: the system-assigned identity. */
  clientId?: string;
  /** Reads IDENTITY_ENDPOINT and IDENTITY_HEADER. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Default IMDS_TOKEN_ENDPOINT. */
  imdsEndpoint?: string;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

interface Token {
  value: string;
  expiresAtMs: number;
}

/** A token provider (`() => Promise<string>`; pg takes it as `password`) backed by managed-identity tokens. */
export function managedIdentityToken(options: ManagedIdentityTokenOptions): () => Promise<string> {
  const env = options.env ?? process.env;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const { resource, purpose, code } = options;
  let cached: Token | undefined;
  let pending: Promise<Token> | undefined;

  const request = (): { url: URL; headers: Record<string, string>; source: string } => {
    const endpoint = env.IDENTITY_ENDPOINT?.trim();
    const header = env.IDENTITY_HEADER?.trim();
    const base = endpoint && header ? endpoint : (options.imdsEndpoint ?? IMDS_TOKEN_ENDPOINT);
    const url = new URL(base);
    url.searchParams.set("api-version", endpoint && header ? "2019-08-01" : "2018-02-01");
    url.searchParams.set("resource", resource);
    if (options.clientId) url.searchParams.set("client_id", options.clientId);
    return endpoint && header
      ? { url, headers: { "X-IDENTITY-HEADER": header }, source: "the Container Apps identity endpoint (IDENTITY_ENDPOINT)" }
      : { url, headers: { Metadata: "true" }, source: "the Azure Instance Metadata Service" };
  };

  const fetchToken = async (): Promise<Token> => {
    const { url, headers, source } = request();
    let response: Response;
    try {
      response = await doFetch(url, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    } catch (error) {
      throw new ManagedIdentityTokenError(code, `no ${purpose}: ${source} at ${url.origin}${url.pathname} is unreachable (${(error as Error).message})`, { cause: error });
    }
    const text = await response.text();
    if (!response.ok) {
      // The body is Entra's error description (never a token): it says which identity or resource is wrong.
      throw new ManagedIdentityTokenError(code, `no ${purpose}: ${source} answered ${response.status}: ${text.slice(0, 300)}`);
    }
    let body: { access_token?: unknown; expires_on?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text);
    } catch {
      throw new ManagedIdentityTokenError(code, `no ${purpose}: ${source} answered ${response.status} with a body that is not JSON`);
    }
    const expiresOn = Number(body.expires_on);
    const expiresIn = Number(body.expires_in);
    const expiresAtMs = Number.isFinite(expiresOn) && expiresOn > 0 ? expiresOn * 1000 : Number.isFinite(expiresIn) && expiresIn > 0 ? now() + expiresIn * 1000 : NaN;
    if (typeof body.access_token !== "string" || !body.access_token || Number.isNaN(expiresAtMs)) {
      throw new ManagedIdentityTokenError(code, `no ${purpose}: ${source} answered without access_token and expires_on`);
    }
    return { value: body.access_token, expiresAtMs };
  };

  return async () => {
    if (cached && now() < cached.expiresAtMs - REFRESH_BEFORE_EXPIRY_MS) return cached.value;
    // Connections opened together share one request.
    pending ??= fetchToken().finally(() => {
      pending = undefined;
    });
    try {
      cached = await pending;
      return cached.value;
    } catch (error) {
      // A refresh that fails while the old token is still valid must not stop new connections.
      if (cached && now() < cached.expiresAtMs) return cached.value;
      throw error;
    }
  };
}
