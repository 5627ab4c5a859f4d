/**
 * A local stand-in for Entra ID on loopback: its own RSA key pair, OIDC metadata, the JWKS at
 * Entra's path, a client-credentials token endpoint for tools, and the authorization-code flow
 * with PKCE (a sign-in page listing the local users) for the web console. The receiver trusts it
 * only through ENTRA_AUTHORITY and ENTRA_TENANT_ID, exactly as it trusts login.microsoftonline.com.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import Fastify, { type FastifyReply } from "fastify";
import { SignJWT, exportJWK, generateKeyPair, type JWK, type CryptoKey } from "jose";
import { AZNS_WEBHOOK_CLIENT_ID } from "../src/contract.ts";
import { LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_ROLE_ASSIGNMENTS, LOCAL_TENANT_ID, LOCAL_USERS, type LocalUser } from "./local-identity.ts";
import { renderSignInPage } from "./sign-in-page.ts";

/** Entra's authorization codes live about 10 minutes; a local sign-in completes in seconds. */
const CODE_TTL_MS = 60_000;
/** The scope a user token for our API needs, as Entra names delegated permissions. */
const API_SCOPE = `${LOCAL_APP_ID_URI}/user_impersonation`;

interface AuthorizationRequest {
  client_id: string;
  redirect_uri: string;
  scope: string;
  state: string;
  nonce: string;
  code_challenge: string;
  code_challenge_method: string;
}

interface IssuedCode {
  request: AuthorizationRequest;
  user: LocalUser;
  expiresAt: number;
}

/**
 * Like Entra for public clients, only loopback redirect URIs are accepted without registration:
 * the console's is `{receiver}/console/`, and the receiver's port is chosen after the issuer starts.
 */
function isLoopbackRedirect(uri: string): boolean {
  try {
    const url = new URL(uri);
    return (url.protocol === "http:" || url.protocol === "https:") && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname) && !url.hash;
  } catch {
    return false;
  }
}

const base64url = (bytes: Buffer) => bytes.toString("base64url");
const s256 = (verifier: string) => base64url(createHash("sha256").update(verifier).digest());

export interface MintOptions {
  /** 1 (Entra's default for app registrations) or 2. */
  version?: 1 | 2;
  audience?: string;
  callerId?: string;
  tenantId?: string;
  roles?: string[];
  objectId?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  /** Seconds from now before which the token is not valid. */
  notBeforeIn?: number;
  issuer?: string;
  /** Claims to add or, with `undefined`, to remove. */
  claims?: Record<string, unknown>;
  kid?: string;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface LocalIssuer {
  /** The authority to configure as ENTRA_AUTHORITY. */
  url: string;
  tenantId: string;
  mint(options?: MintOptions): Promise<string>;
  /** Starts signing with a new key; the old one stays published unless `retireOld`. */
  rotateKey(options?: { retireOld?: boolean }): Promise<string>;
  /** While unavailable, the keys and metadata endpoints answer 503 (an Entra outage). */
  setAvailable(available: boolean): void;
  /** How many requests reached the keys endpoint, answered or refused. */
  readonly keyFetches: number;
  close(): Promise<void>;
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { modulusLength: 2048 });
  const kid = randomUUID();
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, use: "sig", alg: "RS256" } };
}

export async function startLocalIssuer(options: { port?: number; host?: string; tenantId?: string } = {}): Promise<LocalIssuer> {
  const tenantId = options.tenantId ?? LOCAL_TENANT_ID;
  let keys: SigningKey[] = [await newKey()];
  let available = true;
  let keyFetches = 0;
  const app = Fastify({ logger: false });
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  let url = "";
  const current = () => keys[keys.length - 1] as SigningKey;

  async function mint(o: MintOptions = {}): Promise<string> {
    const version = o.version ?? 1;
    const tid = o.tenantId ?? tenantId;
    const caller = o.callerId ?? AZNS_WEBHOOK_CLIENT_ID;
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: o.issuer ?? (version === 1 ? `https://sts.windows.net/${tid}/` : `${url}/${tid}/v2.0`),
      aud: o.audience ?? LOCAL_APP_ID_URI,
      tid,
      oid: o.objectId ?? "0e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b",
      sub: o.objectId ?? "0e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b",
      roles: o.roles ?? (Object.hasOwn(LOCAL_ROLE_ASSIGNMENTS, caller) ? [...(LOCAL_ROLE_ASSIGNMENTS[caller] as string[])] : []),
      idtyp: "app",
      ver: version === 1 ? "1.0" : "2.0",
      ...(version === 1 ? { appid: caller, appidacr: "2" } : { azp: caller, azpacr: "2" }),
      iat: now,
      nbf: now + (o.notBeforeIn ?? 0),
      exp: now + (o.expiresIn ?? 3600),
      ...o.claims,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    const key = current();
    return new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: o.kid ?? key.kid }).sign(key.privateKey);
  }

  app.addHook("onRequest", async (request, reply) => {
    if (request.url === `/${tenantId}/discovery/v2.0/keys`) keyFetches += 1;
    if (!available) return reply.code(503).send({ error: "temporarily_unavailable" });
  });

  // Entra answers its metadata and token endpoints to browsers of any origin (single-page apps).
  app.addHook("onSend", async (request, reply) => {
    if (request.url.includes("/.well-known/") || request.url.startsWith(`/${tenantId}/oauth2/v2.0/token`) || request.url.startsWith(`/${tenantId}/discovery/`)) {
      reply.header("access-control-allow-origin", "*");
    }
  });

  app.get(`/${tenantId}/v2.0/.well-known/openid-configuration`, async () => ({
    issuer: `${url}/${tenantId}/v2.0`,
    authorization_endpoint: `${url}/${tenantId}/oauth2/v2.0/authorize`,
    jwks_uri: `${url}/${tenantId}/discovery/v2.0/keys`,
    token_endpoint: `${url}/${tenantId}/oauth2/v2.0/token`,
    id_token_signing_alg_values_supported: ["RS256"],
    token_endpoint_auth_methods_supported: ["client_secret_post", "none"],
    response_types_supported: ["code", "token"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "client_credentials"],
    code_challenge_methods_supported: ["S256"],
    scopes_supported: ["openid", "profile", "offline_access", API_SCOPE],
    subject_types_supported: ["pairwise"],
  }));

  app.get(`/${tenantId}/discovery/v2.0/keys`, async () => ({ keys: keys.map((k) => k.publicJwk) }));

  const codes = new Map<string, IssuedCode>();
  const authorizePath = `/${tenantId}/oauth2/v2.0/authorize`;

  /** Checks an authorization request as Entra does; errors that cannot go back to the client are shown on the page. */
  function checkAuthorizationRequest(params: Record<string, string | undefined>): { request: AuthorizationRequest } | { page: string } | { redirectError: string; description: string } {
    if (params.client_id !== LOCAL_APP_CLIENT_ID) return { page: `unknown client_id "${params.client_id ?? ""}": the local tenant has one application, ${LOCAL_APP_CLIENT_ID}` };
    if (!params.redirect_uri || !isLoopbackRedirect(params.redirect_uri)) return { page: `redirect_uri "${params.redirect_uri ?? ""}" is not a loopback http(s) URL` };
    if (params.response_type !== "code") return { redirectError: "unsupported_response_type", description: "only response_type=code" };
    if (!params.code_challenge || params.code_challenge_method !== "S256") return { redirectError: "invalid_request", description: "PKCE is required: code_challenge with code_challenge_method=S256" };
    const scopes = (params.scope ?? "").split(" ").filter(Boolean);
    if (!scopes.includes("openid")) return { redirectError: "invalid_scope", description: "scope must include openid" };
    const unknown = scopes.filter((scope) => !["openid", "profile", "offline_access", "email", API_SCOPE].includes(scope));
    if (unknown.length) return { redirectError: "invalid_scope", description: `unknown scope ${unknown.join(" ")}; this tenant's API scope is ${API_SCOPE}` };
    return {
      request: {
        client_id: params.client_id,
        redirect_uri: params.redirect_uri,
        scope: scopes.join(" "),
        state: params.state ?? "",
        nonce: params.nonce ?? "",
        code_challenge: params.code_challenge,
        code_challenge_method: "S256",
      },
    };
  }

  function redirectWith(reply: FastifyReply, redirectUri: string, params: Record<string, string>) {
    const target = new URL(redirectUri);
    for (const [name, value] of Object.entries(params)) if (value) target.searchParams.set(name, value);
    return reply.redirect(target.toString(), 302);
  }

  function errorPage(reply: FastifyReply, message: string) {
    const escaped = message.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    return reply.code(400).type("text/html; charset=utf-8").send(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Sign-in error</title><h1>Sign-in error</h1><p>${escaped}</p></html>`);
  }

  app.get(authorizePath, async (request, reply) => {
    const checked = checkAuthorizationRequest(request.query as Record<string, string | undefined>);
    if ("page" in checked) return errorPage(reply, checked.page);
    const params = request.query as Record<string, string>;
    if ("redirectError" in checked) return redirectWith(reply, params.redirect_uri!, { error: checked.redirectError, error_description: checked.description, state: params.state ?? "" });
    return reply.type("text/html; charset=utf-8").send(renderSignInPage({ action: authorizePath, request: { ...checked.request, response_type: "code" }, users: LOCAL_USERS, tenantId }));
  });

  app.post(authorizePath, async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, string | undefined>;
    const checked = checkAuthorizationRequest(form);
    if ("page" in checked) return errorPage(reply, checked.page);
    if ("redirectError" in checked) return redirectWith(reply, form.redirect_uri!, { error: checked.redirectError, error_description: checked.description, state: form.state ?? "" });
    const user = LOCAL_USERS.find((u) => u.objectId === form.user);
    if (!user) return errorPage(reply, `no local user ${form.user ?? "(none chosen)"}`);
    for (const [old, issued] of codes) if (issued.expiresAt < Date.now()) codes.delete(old);
    const code = base64url(randomBytes(32));
    codes.set(code, { request: checked.request, user, expiresAt: Date.now() + CODE_TTL_MS });
    return redirectWith(reply, checked.request.redirect_uri, { code, state: checked.request.state });
  });

  /** Redeems a code once: the client, redirect URI and PKCE verifier must match the authorization request. */
  async function redeemCode(form: Record<string, string | undefined>) {
    const issued = form.code ? codes.get(form.code) : undefined;
    if (form.code) codes.delete(form.code);
    if (!issued || issued.expiresAt < Date.now()) return { error: "invalid_grant", error_description: "the authorization code is unknown, used or expired" };
    if (form.client_id !== issued.request.client_id) return { error: "invalid_grant", error_description: "client_id differs from the authorization request" };
    if (form.redirect_uri !== issued.request.redirect_uri) return { error: "invalid_grant", error_description: "redirect_uri differs from the authorization request" };
    if (!form.code_verifier || s256(form.code_verifier) !== issued.request.code_challenge) return { error: "invalid_grant", error_description: "PKCE code_verifier does not match the code_challenge" };
    const { user, request } = issued;
    const scopes = request.scope.split(" ");
    const now = Math.floor(Date.now() / 1000);
    const idToken = await new SignJWT({
      iss: `${url}/${tenantId}/v2.0`, aud: request.client_id, tid: tenantId, oid: user.objectId, sub: user.objectId,
      name: user.name, preferred_username: user.username, ...(request.nonce ? { nonce: request.nonce } : {}), ver: "2.0", iat: now, nbf: now, exp: now + 3600,
    }).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: current().kid }).sign(current().privateKey);
    // Entra omits `roles` when the user holds none, and user tokens carry the delegated scope in `scp`.
    const accessToken = scopes.includes(API_SCOPE)
      ? await mint({ version: 1, audience: LOCAL_APP_ID_URI, callerId: request.client_id, objectId: user.objectId, roles: [...user.roles], claims: { idtyp: undefined, scp: "user_impersonation", name: user.name, upn: user.username, ...(user.roles.length ? {} : { roles: undefined }) } })
      : undefined;
    return { token_type: "Bearer", scope: request.scope, expires_in: 3600, ...(accessToken ? { access_token: accessToken } : {}), id_token: idToken };
  }

  // Browsers ask every page's origin for an icon; the sign-in page has none (a 404 in the console otherwise).
  app.get("/favicon.ico", async (_request, reply) => reply.code(204).send());

  // Entra answers the CORS preflight of its token endpoint for single-page apps (the console sends a
  // simple request, Swagger UI on /docs adds X-Requested-With, which needs one).
  app.options(`/${tenantId}/oauth2/v2.0/token`, async (request, reply) =>
    reply
      .code(204)
      .header("access-control-allow-methods", "POST, OPTIONS")
      .header("access-control-allow-headers", String(request.headers["access-control-request-headers"] ?? "content-type"))
      .header("access-control-max-age", "600")
      .send(),
  );

  // Client credentials (for tools) and authorization codes (for the console), as Entra does them,
  // minus client secrets: this issuer is for one machine.
  app.post(`/${tenantId}/oauth2/v2.0/token`, async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, string | undefined>;
    if (form.grant_type === "authorization_code") {
      const answer = await redeemCode(form);
      return "error" in answer ? reply.code(400).send(answer) : answer;
    }
    // What Entra answers a client-credentials request without a scope (a ServiceNow OAuth profile with no "OAuth Entity Profile Scopes").
    if (form.grant_type === "client_credentials" && !form.scope) {
      return reply.code(400).send({ error: "invalid_request", error_description: "AADSTS90014: The required field 'scope' is missing from the credential. Ensure that you have all the necessary parameters for the login request." });
    }
    if (form.grant_type !== "client_credentials" || !form.client_id || !form.scope?.endsWith("/.default")) {
      return reply.code(400).send({ error: "invalid_request", error_description: "client_credentials with client_id and scope {resource}/.default, or authorization_code" });
    }
    const resource = form.scope.slice(0, -"/.default".length);
    const version = form.token_version === "2" ? 2 : 1;
    const token = await mint({ version, audience: resource, callerId: form.client_id });
    return { token_type: "Bearer", expires_in: 3600, access_token: token };
  });

  await app.listen({ port: options.port ?? 0, host: options.host ?? "127.0.0.1" });
  const address = app.server.address();
  url = `http://${options.host ?? "127.0.0.1"}:${typeof address === "object" && address ? address.port : options.port}`;

  return {
    url,
    tenantId,
    mint,
    async rotateKey({ retireOld = false } = {}) {
      const key = await newKey();
      keys = retireOld ? [key] : [...keys, key];
      return key.kid;
    },
    setAvailable(value) {
      available = value;
    },
    get keyFetches() {
      return keyFetches;
    },
    close: () => app.close(),
  };
}
