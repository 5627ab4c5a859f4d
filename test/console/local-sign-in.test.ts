/**
 * The local issuer's OpenID Connect authorization-code flow with PKCE, at the HTTP level, checked
 * against what Entra's v2 endpoint does for a single-page app (RFC 6749 §4.1, RFC 7636 S256;
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow): errors that
 * cannot be trusted to go back (client, redirect URI) stay on the page; codes are single-use and
 * bound to the client, redirect URI and verifier; the ID token is signed with the published keys.
 */
import { createHash, randomBytes } from "node:crypto";
import { createRemoteJWKSet, jwtVerify, decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_USERS } from "../../receiver/local/local-identity.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";

let store: OpenStore;
let stack: TestStack;
let base: string;

beforeAll(async () => {
  // PostgreSQL: the cheapest store to start on a busy machine; these tests are about HTTP, not storage.
  store = await STORE_KINDS.find((kind) => kind.name === "postgres")!.open();
  stack = await startTestStack({ db: store.db });
  base = `${stack.issuer.url}/${stack.issuer.tenantId}`;
});
afterAll(async () => {
  await stack?.close();
  await store?.close();
});

const REDIRECT = "http://127.0.0.1:8080/console/";
const SCOPE = `openid profile offline_access ${LOCAL_APP_ID_URI}/user_impersonation`;

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function authorizeParams(overrides: Record<string, string | undefined> = {}, challenge = pkce().challenge) {
  const params: Record<string, string | undefined> = {
    client_id: LOCAL_APP_CLIENT_ID, response_type: "code", redirect_uri: REDIRECT, scope: SCOPE, state: "st4te", nonce: "n0nce",
    code_challenge: challenge, code_challenge_method: "S256", ...overrides,
  };
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

/** Picks `user` on the sign-in page; returns where the browser is sent. */
async function chooseUser(params: Record<string, string>, user: string): Promise<URL> {
  const response = await fetch(`${base}/oauth2/v2.0/authorize`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...params, user }),
    redirect: "manual",
  });
  expect(response.status).toBe(302);
  return new URL(response.headers.get("location")!);
}

const redeem = (form: Record<string, string>) =>
  fetch(`${base}/oauth2/v2.0/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://127.0.0.1:8080" }, body: new URLSearchParams(form) });

async function signIn(user = LOCAL_USERS[0]!) {
  const { verifier, challenge } = pkce();
  const back = await chooseUser(authorizeParams({}, challenge), user.objectId);
  const code = back.searchParams.get("code")!;
  return { code, verifier, response: await redeem({ grant_type: "authorization_code", client_id: LOCAL_APP_CLIENT_ID, code, redirect_uri: REDIRECT, code_verifier: verifier }) };
}

describe("the local issuer's sign-in", () => {
  it("advertises the authorization endpoint, code flow and S256 in its metadata, readable by a browser of any origin", async () => {
    const response = await fetch(`${base}/v2.0/.well-known/openid-configuration`);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(await response.json()).toMatchObject({
      issuer: `${base}/v2.0`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      response_types_supported: expect.arrayContaining(["code"]),
      code_challenge_methods_supported: ["S256"],
    });
  });

  it("shows a sign-in page listing each local user with their roles, carrying the request along", async () => {
    const response = await fetch(`${base}/oauth2/v2.0/authorize?${new URLSearchParams(authorizeParams())}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    for (const user of LOCAL_USERS) {
      expect(html).toContain(user.name);
      expect(html).toContain(`value="${user.objectId}"`);
    }
    expect(html).toContain("Incidents.Read, Incidents.Operate");
    expect(html).toContain("no roles");
    expect(html).toContain('name="state" value="st4te"');
  });

  it("redirects back with a code and the state, and the code buys a signed ID token and an access token the receiver accepts", async () => {
    const { verifier, challenge } = pkce();
    const back = await chooseUser(authorizeParams({}, challenge), LOCAL_USERS[0]!.objectId);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get("state")).toBe("st4te");
    const response = await redeem({ grant_type: "authorization_code", client_id: LOCAL_APP_CLIENT_ID, code: back.searchParams.get("code")!, redirect_uri: REDIRECT, code_verifier: verifier });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    const tokens = (await response.json()) as { id_token: string; access_token: string; token_type: string };
    expect(tokens.token_type).toBe("Bearer");

    const keys = createRemoteJWKSet(new URL(`${base}/discovery/v2.0/keys`));
    const { payload: id } = await jwtVerify(tokens.id_token, keys, { issuer: `${base}/v2.0`, audience: LOCAL_APP_CLIENT_ID });
    expect(id).toMatchObject({ nonce: "n0nce", oid: LOCAL_USERS[0]!.objectId, name: "Olivia Operator", preferred_username: LOCAL_USERS[0]!.username });

    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: LOCAL_APP_ID_URI, appid: LOCAL_APP_CLIENT_ID, scp: "user_impersonation", roles: ["Incidents.Read", "Incidents.Operate"] });
    const list = await fetch(`${stack.receiver.url}/api/incidents`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(list.status).toBe(200);
  });

  it("gives a user without roles a token without roles, which the read API refuses with 403", async () => {
    const { response } = await signIn(LOCAL_USERS[2]!);
    const tokens = (await response.json()) as { access_token: string };
    expect(decodeJwt(tokens.access_token).roles).toBeUndefined();
    const list = await fetch(`${stack.receiver.url}/api/incidents`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(list.status).toBe(403);
    expect(((await list.json()) as { message: string }).message).toBe("token lacks the Incidents.Read role");
  });

  it("redeems a code once, and only with the verifier, client and redirect URI it was issued for", async () => {
    const used = await signIn();
    expect(used.response.status).toBe(200);
    const again = await redeem({ grant_type: "authorization_code", client_id: LOCAL_APP_CLIENT_ID, code: used.code, redirect_uri: REDIRECT, code_verifier: used.verifier });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: "invalid_grant" });

    const cases: Array<[Record<string, string>, string]> = [
      [{ code_verifier: pkce().verifier }, "PKCE code_verifier does not match"],
      [{ redirect_uri: "http://127.0.0.1:9999/console/" }, "redirect_uri differs"],
      [{ client_id: "00000000-0000-4000-8000-000000000000" }, "client_id differs"],
    ];
    for (const [change, message] of cases) {
      const { verifier, challenge } = pkce();
      const code = (await chooseUser(authorizeParams({}, challenge), LOCAL_USERS[0]!.objectId)).searchParams.get("code")!;
      const response = await redeem({ grant_type: "authorization_code", client_id: LOCAL_APP_CLIENT_ID, code, redirect_uri: REDIRECT, code_verifier: verifier, ...change });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error_description: string }).error_description).toContain(message);
    }
  });

  it("never redirects to an unknown client's or a non-loopback redirect URI: it says so on the page", async () => {
    for (const [change, message] of [
      [{ redirect_uri: "https://attacker.example/console/" }, "is not a loopback http(s) URL"],
      [{ client_id: "00000000-0000-4000-8000-000000000000" }, "unknown client_id"],
    ] as const) {
      const response = await fetch(`${base}/oauth2/v2.0/authorize?${new URLSearchParams(authorizeParams(change))}`, { redirect: "manual" });
      expect(response.status).toBe(400);
      expect(response.headers.get("location")).toBeNull();
      expect(await response.text()).toContain(message);
    }
  });

  it("sends request errors back to the client, as Entra does: PKCE missing, unknown scope, another response type", async () => {
    for (const [change, error] of [
      [{ code_challenge: undefined }, "invalid_request"],
      [{ code_challenge_method: "plain" }, "invalid_request"],
      [{ scope: "openid api://someone-else/user_impersonation" }, "invalid_scope"],
      [{ response_type: "token" }, "unsupported_response_type"],
    ] as const) {
      const response = await fetch(`${base}/oauth2/v2.0/authorize?${new URLSearchParams(authorizeParams(change))}`, { redirect: "manual" });
      expect(response.status).toBe(302);
      const back = new URL(response.headers.get("location")!);
      expect(back.searchParams.get("error")).toBe(error);
      expect(back.searchParams.get("state")).toBe("st4te");
    }
  });
});
