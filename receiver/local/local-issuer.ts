/**
 * A local stand-in for Entra ID on loopback: its own RSA key pair, OIDC metadata, the JWKS at
 * Entra's path and a client-credentials token endpoint. The receiver trusts it only through
 * ENTRA_AUTHORITY and ENTRA_TENANT_ID, exactly as it trusts login.microsoftonline.com.
 */
import { randomUUID } from "node:crypto";
import Fastify from "fastify";
import { SignJWT, exportJWK, generateKeyPair, type JWK, type CryptoKey } from "jose";
import { AZNS_WEBHOOK_CLIENT_ID } from "../src/config.ts";
import { LOCAL_APP_ID_URI, LOCAL_ROLE_ASSIGNMENTS, LOCAL_TENANT_ID } from "./local-identity.ts";

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

  app.get(`/${tenantId}/v2.0/.well-known/openid-configuration`, async () => ({
    issuer: `${url}/${tenantId}/v2.0`,
    jwks_uri: `${url}/${tenantId}/discovery/v2.0/keys`,
    token_endpoint: `${url}/${tenantId}/oauth2/v2.0/token`,
    id_token_signing_alg_values_supported: ["RS256"],
    token_endpoint_auth_methods_supported: ["client_secret_post"],
    response_types_supported: ["token"],
    subject_types_supported: ["pairwise"],
  }));

  app.get(`/${tenantId}/discovery/v2.0/keys`, async () => ({ keys: keys.map((k) => k.publicJwk) }));

  // Client credentials as Entra does them, minus client authentication: this issuer is for one machine.
  app.post(`/${tenantId}/oauth2/v2.0/token`, async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, string | undefined>;
    if (form.grant_type !== "client_credentials" || !form.client_id || !form.scope?.endsWith("/.default")) {
      return reply.code(400).send({ error: "invalid_request", error_description: "client_credentials with client_id and scope {resource}/.default" });
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
