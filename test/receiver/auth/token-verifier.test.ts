/**
 * The TokenVerifier's memory of verified tokens and the claims jose leaves to us
 * (docs/configuration.md#how-tokens-are-checked), with a frozen clock and the local issuer's real keys.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SigningKeys } from "../../../receiver/src/auth/signing-keys.ts";
import { TokenVerifier, jwksUrl } from "../../../receiver/src/auth/token-verifier.ts";
import { loadConfig } from "../../../receiver/src/config.ts";
import { LOCAL_APP_ID_URI } from "../../../receiver/local/local-identity.ts";
import { startLocalIssuer, type LocalIssuer } from "../../../receiver/local/local-issuer.ts";

let issuer: LocalIssuer;
beforeAll(async () => {
  issuer = await startLocalIssuer();
});
afterAll(() => issuer.close());

const webhook = { role: "ActionGroupsSecureWebhook" };

function verifierAt(clock: { now: number }, tolerance = "300") {
  const config = loadConfig({ ENTRA_TENANT_ID: issuer.tenantId, ENTRA_AUDIENCES: LOCAL_APP_ID_URI, ENTRA_AUTHORITY: issuer.url, ENTRA_CLOCK_TOLERANCE_SECONDS: tolerance });
  const keys = new SigningKeys({ jwksUrl: jwksUrl(config.auth), refreshIntervalMs: 86_400_000, minRefetchIntervalMs: 10_000, now: () => clock.now });
  return { keys, verifier: new TokenVerifier(config.auth, keys, () => clock.now) };
}

describe("TokenVerifier", () => {
  it("never accepts a remembered token past its exp", async () => {
    const clock = { now: Date.now() };
    const { verifier } = verifierAt(clock, "0");
    const token = await issuer.mint({ expiresIn: 120 });
    expect(await verifier.verify(`Bearer ${token}`, webhook)).toMatchObject({ ok: true });
    expect(await verifier.verify(`Bearer ${token}`, { role: "Incidents.Read" })).toMatchObject({ ok: false, status: 403 });
    clock.now += 121_000;
    expect(await verifier.verify(`Bearer ${token}`, webhook)).toMatchObject({ ok: false, status: 401, reason: "token is expired" });
  });

  it("stops accepting a remembered token once its key is removed from the key set", async () => {
    const clock = { now: Date.now() };
    const { keys, verifier } = verifierAt(clock);
    await keys.refresh();
    const token = await issuer.mint();
    expect(await verifier.verify(`Bearer ${token}`, webhook)).toMatchObject({ ok: true });
    await issuer.rotateKey({ retireOld: true });
    // The daily refresh (or any fetch) brings a key set without the old key.
    await keys.refresh();
    expect(await verifier.verify(`Bearer ${token}`, webhook)).toMatchObject({ ok: false, status: 401, reason: "token is signed with an unknown key" });
  });

  it("refuses iat beyond the clock tolerance, as it does nbf", async () => {
    const clock = { now: Date.now() };
    const { verifier } = verifierAt(clock);
    const iatIn = async (seconds: number) => verifier.verify(`Bearer ${await issuer.mint({ claims: { iat: Math.floor(clock.now / 1000) + seconds } })}`, webhook);
    expect(await iatIn(600)).toEqual({ ok: false, status: 401, reason: "token is issued in the future" });
    expect(await iatIn(240)).toMatchObject({ ok: true });
  });

  it("says which audience arrived when it refuses one", async () => {
    const { verifier } = verifierAt({ now: Date.now() });
    const token = await issuer.mint({ audience: "api://someone-elses-app" });
    expect(await verifier.verify(`Bearer ${token}`, webhook)).toEqual({ ok: false, status: 401, reason: 'audience "api://someone-elses-app" is not accepted' });
  });
});
