/** The key cache's policy (DESIGN.md §4), with a frozen clock and a counting keys endpoint. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SigningKeys, SigningKeysUnavailableError } from "../../receiver/src/auth/signing-keys.ts";
import { startLocalIssuer, type LocalIssuer } from "../../receiver/local/local-issuer.ts";
import { decodeProtectedHeader } from "jose";

let issuer: LocalIssuer;
let now: number;
const MIN_REFETCH = 300_000;

beforeAll(async () => {
  issuer = await startLocalIssuer();
});
afterAll(() => issuer.close());
beforeEach(() => {
  now = 1_000_000;
  issuer.setAvailable(true);
});

function keyCache(): SigningKeys {
  return new SigningKeys({
    jwksUrl: `${issuer.url}/${issuer.tenantId}/discovery/v2.0/keys`,
    refreshIntervalMs: 86_400_000,
    minRefetchIntervalMs: MIN_REFETCH,
    now: () => now,
  });
}

async function headerOf(token: Promise<string>) {
  const t = await token;
  return { header: decodeProtectedHeader(t) as any, token: { payload: "", signature: "", protected: "" } };
}

describe("SigningKeys", () => {
  it("fetches once for many concurrent first requests", async () => {
    const keys = keyCache();
    const before = issuer.keyFetches;
    const { header, token } = await headerOf(issuer.mint());
    await Promise.all(Array.from({ length: 10 }, () => keys.getKey(header, token)));
    expect(issuer.keyFetches - before).toBe(1);
    expect(keys.loaded).toBe(true);
  });

  it("refetches for an unknown kid at most once per interval", async () => {
    const keys = keyCache();
    await keys.refresh();
    const before = issuer.keyFetches;
    await issuer.rotateKey();
    const rotated = await headerOf(issuer.mint());

    // Just after the initial fetch: an unknown kid does not hit the endpoint again.
    now += MIN_REFETCH - 1;
    await expect(keys.getKey(rotated.header, rotated.token)).rejects.toThrow(/no applicable key/i);
    await expect(keys.getKey({ alg: "RS256", kid: "random-1" }, rotated.token)).rejects.toThrow();
    expect(issuer.keyFetches).toBe(before);

    now += 1;
    await expect(keys.getKey(rotated.header, rotated.token)).resolves.toBeDefined();
    expect(issuer.keyFetches).toBe(before + 1);

    // A flood of made-up kids right after cannot make it fetch again.
    for (let i = 0; i < 20; i += 1) await expect(keys.getKey({ alg: "RS256", kid: `made-up-${i}` }, rotated.token)).rejects.toThrow();
    expect(issuer.keyFetches).toBe(before + 1);
  });

  it("keeps the last good keys when a refresh fails", async () => {
    const keys = keyCache();
    await keys.refresh();
    const { header, token } = await headerOf(issuer.mint());
    issuer.setAvailable(false);
    now += MIN_REFETCH * 10;
    await keys.refresh();
    await expect(keys.getKey(header, token)).resolves.toBeDefined();
    expect(keys.loaded).toBe(true);
  });

  it("reports unavailability, not a bad token, when it never had keys", async () => {
    issuer.setAvailable(false);
    const keys = keyCache();
    const { header, token } = await headerOf(issuer.mint());
    await expect(keys.getKey(header, token)).rejects.toBeInstanceOf(SigningKeysUnavailableError);
    expect(keys.loaded).toBe(false);
  });

  it("does not hammer a down keys endpoint while cold", async () => {
    issuer.setAvailable(false);
    const keys = keyCache();
    const { header, token } = await headerOf(issuer.mint());
    const before = issuer.keyFetches;
    await expect(keys.getKey(header, token)).rejects.toBeInstanceOf(SigningKeysUnavailableError);
    for (let i = 0; i < 10; i += 1) await expect(keys.getKey(header, token)).rejects.toBeInstanceOf(SigningKeysUnavailableError);
    expect(issuer.keyFetches).toBe(before + 1);

    // Back up, but within the cold retry pause: still no request.
    issuer.setAvailable(true);
    await expect(keys.getKey(header, token)).rejects.toBeInstanceOf(SigningKeysUnavailableError);
    expect(issuer.keyFetches).toBe(before + 1);
    now += 5_000;
    await expect(keys.getKey(header, token)).resolves.toBeDefined();
    expect(issuer.keyFetches).toBe(before + 2);
  });

  it("rejects a keys document without keys and stays cold", async () => {
    const keys = new SigningKeys({ jwksUrl: `${issuer.url}/nowhere`, refreshIntervalMs: 60_000, minRefetchIntervalMs: 0, now: () => now });
    await keys.refresh();
    expect(keys.loaded).toBe(false);
  });
});

describe("TokenVerifier's memory of verified tokens", () => {
  it("never accepts a remembered token past its exp", async () => {
    const { TokenVerifier } = await import("../../receiver/src/auth/token-verifier.ts");
    const { loadConfig } = await import("../../receiver/src/config.ts");
    const config = loadConfig({ ENTRA_TENANT_ID: issuer.tenantId, ENTRA_AUDIENCES: "api://secure-export-local", ENTRA_AUTHORITY: issuer.url, ENTRA_CLOCK_TOLERANCE_SECONDS: "0" });
    let clock = Date.now();
    const verifier = new TokenVerifier(config.auth, keyCache(), () => clock);
    const token = await issuer.mint({ expiresIn: 120 });
    const rule = { role: "ActionGroupsSecureWebhook" };
    expect(await verifier.verify(`Bearer ${token}`, rule)).toMatchObject({ ok: true });
    expect(await verifier.verify(`Bearer ${token}`, { role: "Incidents.Read" })).toMatchObject({ ok: false, status: 403 });
    clock += 121_000;
    expect(await verifier.verify(`Bearer ${token}`, rule)).toMatchObject({ ok: false, status: 401, reason: "token is expired" });
  });
});
