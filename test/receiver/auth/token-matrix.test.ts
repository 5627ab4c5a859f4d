/**
 * docs/configuration.md#how-tokens-are-checked end to end: real tokens from the local issuer, real key fetching over loopback,
 * the real HTTP route. Each case names what Azure Monitor or an attacker could send.
 */
import { SignJWT, decodeJwt, decodeProtectedHeader, exportSPKI, importJWK, base64url, type CryptoKey } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_OPERATOR_CLIENT_ID } from "../../../receiver/local/local-identity.ts";
import { openPglite } from "../../../receiver/src/store/pglite-database.ts";
import { migrate } from "../../../receiver/src/store/migrate.ts";
import type { Database } from "../../../receiver/src/store/database.ts";
import { fixture } from "../../support/fixtures.ts";
import { startTestStack, type TestStack } from "../../support/stack.ts";

const OTHER_TENANT = "0ddba11e-0000-4000-8000-000000000bad";
const alert = fixture("metric-static-fired.json");

let db: Database;
let stack: TestStack;

beforeAll(async () => {
  db = await openPglite(undefined);
  await migrate(db);
  stack = await startTestStack({ db });
});
afterAll(async () => {
  await stack.close();
  await db.close();
});
afterEach(() => stack.issuer.setAvailable(true));

function unsigned(claims: object): string {
  const encode = (part: object) => base64url.encode(JSON.stringify(part));
  return `${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.`;
}

async function hs256WithPublicKey(): Promise<string> {
  const valid = await stack.issuer.mint();
  const { keys } = (await (await fetch(`${stack.issuer.url}/${stack.issuer.tenantId}/discovery/v2.0/keys`)).json()) as { keys: any[] };
  const pem = await exportSPKI((await importJWK(keys[0], "RS256", { extractable: true })) as CryptoKey);
  return new SignJWT(decodeJwt(valid))
    .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: decodeProtectedHeader(valid).kid! })
    .sign(new TextEncoder().encode(pem));
}

type Case = { name: string; reason?: string; token: () => Promise<string | null> | string | null; authorization?: string };

const unauthorised: Case[] = [
  { name: "no Authorization header", reason: "no bearer token", token: () => null },
  { name: "a token that is not a JWT", reason: "malformed", token: () => "not-a-jwt" },
  { name: "alg: none", reason: "algorithm", token: async () => unsigned(decodeJwt(await stack.issuer.mint())) },
  { name: "HS256 signed with the public key", reason: "algorithm", token: hs256WithPublicKey },
  { name: "a tampered payload", reason: "signature", token: async () => {
      const [h, , s] = (await stack.issuer.mint()).split(".");
      return `${h}.${base64url.encode(JSON.stringify({ ...decodeJwt(await stack.issuer.mint()), roles: ["Everything"] }))}.${s}`;
    } },
  { name: "expired", reason: "expired", token: () => stack.issuer.mint({ expiresIn: -3600 }) },
  { name: "no exp claim", reason: "exp", token: () => stack.issuer.mint({ claims: { exp: undefined } }) },
  { name: "nbf in the future", reason: "not valid yet", token: () => stack.issuer.mint({ notBeforeIn: 3600 }) },
  { name: "wrong audience", reason: 'audience "api://some-other-app" is not accepted', token: () => stack.issuer.mint({ audience: "api://some-other-app" }) },
  { name: "iat 600 s in the future", reason: "issued in the future", token: () => stack.issuer.mint({ claims: { iat: Math.floor(Date.now() / 1000) + 600 } }) },
  { name: "wrong issuer", reason: "issuer", token: () => stack.issuer.mint({ issuer: `https://evil.example.com/${stack.issuer.tenantId}/v2.0` }) },
  { name: "v1 issuer with v2 claims mixed in", reason: "token version", token: () => stack.issuer.mint({ version: 1, claims: { ver: "2.0" } }) },
  { name: "v1 issuer with azp instead of appid", reason: "appid", token: () => stack.issuer.mint({ version: 1, claims: { appid: undefined, azp: "461e8683-5575-4561-ac7f-899cc907d62a" } }) },
  { name: "v2 issuer with a v1 version claim", reason: "token version", token: () => stack.issuer.mint({ version: 2, audience: LOCAL_APP_CLIENT_ID, claims: { ver: "1.0" } }) },
  { name: "tid that disagrees with the issuer", reason: "tid", token: () => stack.issuer.mint({ claims: { tid: OTHER_TENANT } }) },
  { name: "signed by a key the tenant never published", reason: "unknown key", token: async () => {
      const stranger = await (await import("../../../receiver/local/local-issuer.ts")).startLocalIssuer();
      try {
        return await stranger.mint({ tenantId: stack.issuer.tenantId });
      } finally {
        await stranger.close();
      }
    } },
  { name: "Basic credentials instead of a bearer token", reason: "not a bearer token", token: () => null, authorization: "Basic dXNlcjpwYXNz" },
];

const forbidden: Case[] = [
  { name: "a token of another tenant", reason: "another tenant", token: () => stack.issuer.mint({ tenantId: OTHER_TENANT }) },
  { name: "a caller that is not Azure Monitor", reason: "not an allowed caller", token: () => stack.issuer.mint({ callerId: LOCAL_OPERATOR_CLIENT_ID, roles: ["ActionGroupsSecureWebhook"] }) },
  { name: "no role", reason: "ActionGroupsSecureWebhook role", token: () => stack.issuer.mint({ roles: [] }) },
  { name: "the reader role only", reason: "ActionGroupsSecureWebhook role", token: () => stack.issuer.mint({ roles: ["Incidents.Read"] }) },
];

const accepted: Case[] = [
  { name: "a valid v1 token (aud = App ID URI)", token: () => stack.issuer.mint({ version: 1 }) },
  { name: "a valid v1 token whose App ID URI has a trailing slash", token: () => stack.issuer.mint({ version: 1, audience: `${LOCAL_APP_ID_URI}/` }) },
  { name: "a valid v2 token (aud = client id)", token: () => stack.issuer.mint({ version: 2, audience: LOCAL_APP_CLIENT_ID }) },
  { name: "a token within the clock tolerance after exp", token: () => stack.issuer.mint({ expiresIn: -60 }) },
  { name: "a token whose iat is within the clock tolerance ahead", token: () => stack.issuer.mint({ claims: { iat: Math.floor(Date.now() / 1000) + 120 } }) },
];

async function send(c: Case): Promise<Response> {
  const token = await c.token();
  if (c.authorization) {
    return fetch(`${stack.receiver.url}/api/alerts`, {
      method: "POST",
      headers: { authorization: c.authorization, "content-type": "application/json" },
      body: JSON.stringify(alert),
    });
  }
  return stack.postAlert(alert, { token });
}

describe("POST /api/alerts token checks", () => {
  it.each(unauthorised)("401 for $name", async (c) => {
    const response = await send(c);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
    expect(await response.json()).toMatchObject({ error: "invalid_token", message: expect.stringContaining(c.reason!) });
  });

  it.each(forbidden)("403 for $name", async (c) => {
    const response = await send(c);
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: "insufficient_scope", message: expect.stringContaining(c.reason!) });
  });

  it.each(accepted)("202 for $name", async (c) => {
    const response = await send(c);
    expect(response.status).toBe(202);
  });

  it("accepts a token signed with a rotated key after refetching the keys", async () => {
    const before = stack.issuer.keyFetches;
    await stack.issuer.rotateKey({ retireOld: true });
    const response = await stack.postAlert(alert, { token: await stack.issuer.mint() });
    expect(response.status).toBe(202);
    expect(stack.issuer.keyFetches).toBe(before + 1);
  });

  it("keeps accepting with cached keys while the keys endpoint is down", async () => {
    stack.issuer.setAvailable(false);
    const response = await stack.postAlert(alert);
    expect(response.status).toBe(202);
  });

  it("answers 503 + Retry-After for a key rotated during an outage, and accepts it once the keys endpoint is back", async () => {
    stack.issuer.setAvailable(false);
    await stack.issuer.rotateKey();
    const rotated = await stack.issuer.mint();
    const refused = await stack.postAlert(alert, { token: rotated });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await refused.json()).toMatchObject({ error: "signing_keys_unavailable", message: expect.stringContaining("answered 503") });
    stack.issuer.setAvailable(true);
    expect((await stack.postAlert(alert, { token: rotated })).status).toBe(202);
  });

  it("answers 503, not 401, for an unknown kid while the keys endpoint is down; 401 once it says the kid is not published", async () => {
    stack.issuer.setAvailable(false);
    const token = await stack.issuer.mint({ kid: "never-published" });
    expect((await stack.postAlert(alert, { token })).status).toBe(503);
    stack.issuer.setAvailable(true);
    expect((await stack.postAlert(alert, { token })).status).toBe(401);
  });

  it("stops accepting a token, even a remembered one, once its key is removed from the key set", async () => {
    const old = await stack.issuer.mint();
    expect((await stack.postAlert(alert, { token: old })).status).toBe(202);
    await stack.issuer.rotateKey({ retireOld: true });
    // A token with the new key makes the receiver fetch the key set, which no longer has the old key.
    expect((await stack.postAlert(alert, { token: await stack.issuer.mint() })).status).toBe(202);
    const refused = await stack.postAlert(alert, { token: old });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ message: "token is signed with an unknown key" });
  });
});

describe("key rotation with on-demand refetches rate-limited (ENTRA_KEYS_MIN_REFETCH_SECONDS)", () => {
  let limited: TestStack;
  beforeAll(async () => {
    limited = await startTestStack({ db, env: { ENTRA_KEYS_MIN_REFETCH_SECONDS: "1" } });
  });
  afterAll(() => limited.close());

  it("accepts a key published right after start-up at once", async () => {
    const fetches = limited.issuer.keyFetches;
    await limited.issuer.rotateKey();
    expect((await limited.postAlert(alert)).status).toBe(202);
    expect(limited.issuer.keyFetches).toBe(fetches + 1);
  });

  it("accepts a newly published key on the first try while refetching is rate-limited, by waiting for the next allowed refetch", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // Anyone can spend the on-demand refetch with a made-up kid; no credentials needed.
    expect((await limited.postAlert(alert, { token: await limited.issuer.mint({ kid: "made-up" }) })).status).toBe(401);
    await limited.issuer.rotateKey();
    const fetches = limited.issuer.keyFetches;
    expect((await limited.postAlert(alert, { token: await limited.issuer.mint() })).status).toBe(202);
    expect(limited.issuer.keyFetches).toBe(fetches + 1);
  });

  it("refuses 300 tokens with made-up kids arriving together with 401, at the cost of one fetch", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await limited.postAlert(alert, { token: await limited.issuer.mint({ kid: "spends-the-refetch" }) })).status).toBe(401);
    const fetches = limited.issuer.keyFetches;
    const tokens = await Promise.all(Array.from({ length: 300 }, (_, i) => limited.issuer.mint({ kid: `random-${i}-${Math.random()}` })));
    const statuses = await Promise.all(tokens.map(async (token) => (await limited.postAlert(alert, { token })).status));
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(limited.issuer.keyFetches - fetches).toBeLessThanOrEqual(2);
  });
});

describe("a receiver that has never loaded keys", () => {
  it("answers 503 with Retry-After, then accepts once the keys endpoint is back", async () => {
    const cold = await startTestStack({ db });
    try {
      cold.issuer.setAvailable(false);
      // A fresh receiver whose first fetch fails: point one at the unavailable issuer.
      const { startReceiver } = await import("../../../receiver/src/receiver.ts");
      const receiver = await startReceiver(cold.config, { db });
      try {
        const post = async () =>
          fetch(`${receiver.url}/api/alerts`, {
            method: "POST",
            headers: { authorization: `Bearer ${await cold.issuer.mint()}`, "content-type": "application/json" },
            body: JSON.stringify(alert),
          });
        const refused = await post();
        expect(refused.status).toBe(503);
        expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
        expect(await refused.json()).toMatchObject({ error: "signing_keys_unavailable" });
        expect((await fetch(`${receiver.url}/readyz`)).status).toBe(503);

        cold.issuer.setAvailable(true);
        expect((await post()).status).toBe(202);
        expect((await fetch(`${receiver.url}/readyz`)).status).toBe(200);
      } finally {
        await receiver.close();
      }
    } finally {
      await cold.close();
    }
  });
});

describe("authentication comes first", () => {
  it("refuses an unauthenticated malformed body with 401, not 400", async () => {
    const response = await stack.postAlert("{not json", { token: null });
    expect(response.status).toBe(401);
  });

  it("refuses an unauthenticated oversized body with 401, not 413", async () => {
    const response = await stack.postAlert("x".repeat(stack.config.bodyLimitBytes + 10), { token: null });
    expect(response.status).toBe(401);
  });
});
