/** The pure token rules, case by case (docs/configuration.md#how-tokens-are-checked). */
import { describe, expect, it } from "vitest";
import { actorOf, checkClaims, expandAudiences, type Claims } from "../../../receiver/src/auth/token-rules.ts";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const AZNS = "461e8683-5575-4561-ac7f-899cc907d62a";
const AUTHORITY = "https://login.microsoftonline.com";
const requirement = { tenantId: TENANT, authority: AUTHORITY, role: "ActionGroupsSecureWebhook", allowedCallers: [AZNS] };

const v1: Claims = { iss: `https://sts.windows.net/${TENANT}/`, tid: TENANT, ver: "1.0", appid: AZNS, oid: "oid-1", roles: ["ActionGroupsSecureWebhook"] };
const v2: Claims = { iss: `${AUTHORITY}/${TENANT}/v2.0`, tid: TENANT, ver: "2.0", azp: AZNS, oid: "oid-2", roles: ["ActionGroupsSecureWebhook"] };

describe("checkClaims", () => {
  it("accepts v1 and v2 tokens and names the caller", () => {
    expect(checkClaims(v1, requirement)).toEqual({
      ok: true,
      principal: { tenantId: TENANT, objectId: "oid-1", name: null, callerId: AZNS, tokenVersion: "1.0", roles: ["ActionGroupsSecureWebhook"] },
    });
    expect(checkClaims(v2, requirement)).toMatchObject({ ok: true, principal: { callerId: AZNS, tokenVersion: "2.0" } });
  });

  it("names a person by the token's display name, else its sign-in name; an application by its id", () => {
    const person = (claims: Claims) => {
      const verdict = checkClaims({ ...v1, ...claims }, requirement);
      if (!verdict.ok) throw new Error(verdict.reason);
      return actorOf(verdict.principal);
    };
    expect(person({ name: "Olivia Operator", upn: "olivia@contoso.com" })).toEqual({ name: "Olivia Operator", id: "oid-1" });
    expect(person({ upn: "olivia@contoso.com" })).toEqual({ name: "olivia@contoso.com", id: "oid-1" });
    expect(person({ unique_name: "olivia@contoso.com", name: "  " })).toEqual({ name: "olivia@contoso.com", id: "oid-1" });
    expect(checkClaims({ ...v2, preferred_username: "riley@contoso.com" }, requirement)).toMatchObject({ ok: true, principal: { name: "riley@contoso.com" } });
    expect(person({ name: 42 })).toEqual({ name: "oid-1", id: "oid-1" });
    expect(person({ oid: undefined })).toEqual({ name: AZNS, id: AZNS });
  });

  it("accepts a token without ver, taking the version from the issuer", () => {
    expect(checkClaims({ ...v1, ver: undefined }, requirement)).toMatchObject({ ok: true });
  });

  it("compares tenant and caller ids case-insensitively", () => {
    expect(checkClaims({ ...v1, iss: `https://sts.windows.net/${TENANT.toUpperCase()}/`, tid: TENANT.toUpperCase(), appid: AZNS.toUpperCase() }, requirement)).toMatchObject({ ok: true });
  });

  it("lets any caller through when no caller list applies (read API)", () => {
    const { allowedCallers: _, ...anyCaller } = requirement;
    expect(checkClaims({ ...v2, azp: "some-user-app" }, anyCaller)).toMatchObject({ ok: true });
  });

  it("with appOnly (ITSM sync clients), takes an application's own token and refuses a user's delegated one", () => {
    const sync = { ...requirement, role: "Itsm.Sync", appOnly: true };
    const app = { ...v2, roles: ["Itsm.Sync"], idtyp: "app" };
    expect(checkClaims(app, sync)).toMatchObject({ ok: true });
    expect(checkClaims({ ...app, idtyp: undefined }, sync)).toMatchObject({ ok: true });
    expect(checkClaims({ ...app, idtyp: "user" }, sync)).toMatchObject({ ok: false, status: 403 });
    expect(checkClaims({ ...app, idtyp: undefined, scp: "user_impersonation" }, sync)).toMatchObject({ ok: false, status: 403 });
    // The webhook's role does not open this door, nor this role the webhook's.
    expect(checkClaims(v2, sync)).toMatchObject({ ok: false, status: 403, reason: "token lacks the Itsm.Sync role" });
    expect(checkClaims(app, requirement)).toMatchObject({ ok: false, status: 403 });
  });

  const refusals: Array<[string, Claims, 401 | 403]> = [
    ["no issuer", { ...v1, iss: undefined }, 401],
    ["a non-Entra issuer", { ...v1, iss: `https://evil.example/${TENANT}/` }, 401],
    ["a v2 issuer of another authority", { ...v2, iss: `https://login.evil.example/${TENANT}/v2.0` }, 401],
    ["a v1 issuer without the trailing slash", { ...v1, iss: `https://sts.windows.net/${TENANT}` }, 401],
    ["v1 issuer, ver 2.0", { ...v1, ver: "2.0" }, 401],
    ["v2 issuer, ver 1.0", { ...v2, ver: "1.0" }, 401],
    ["v1 issuer with azp", { ...v1, azp: AZNS }, 401],
    ["v2 issuer with appid", { ...v2, appid: AZNS }, 401],
    ["v1 without appid", { ...v1, appid: undefined }, 401],
    ["v2 without azp", { ...v2, azp: undefined }, 401],
    ["tid missing", { ...v1, tid: undefined }, 401],
    ["tid not the issuer's tenant", { ...v1, tid: "00000000-0000-0000-0000-000000000000" }, 401],
    ["another tenant", { ...v1, iss: "https://sts.windows.net/00000000-0000-0000-0000-000000000000/", tid: "00000000-0000-0000-0000-000000000000" }, 403],
    ["a caller not allowed", { ...v1, appid: "11111111-1111-1111-1111-111111111111" }, 403],
    ["no roles claim", { ...v1, roles: undefined }, 403],
    ["roles not an array", { ...v1, roles: "ActionGroupsSecureWebhook" }, 403],
    ["another role", { ...v1, roles: ["Incidents.Read"] }, 403],
    ["role differing in case", { ...v1, roles: ["actiongroupssecurewebhook"] }, 403],
  ];
  it.each(refusals)("refuses %s", (_name, claims, status) => {
    const verdict = checkClaims(claims, requirement);
    expect(verdict).toMatchObject({ ok: false, status });
    expect(verdict.ok === false && verdict.reason.length).toBeGreaterThan(0);
  });
});

describe("expandAudiences", () => {
  it("matches an App ID URI with and without its trailing slash, and client ids exactly", () => {
    expect(expandAudiences(["api://app", "https://contoso.example/api/", "5e1ec7ed-0000-4000-8000-0000000a9900"]).sort()).toEqual(
      ["api://app", "api://app/", "https://contoso.example/api", "https://contoso.example/api/", "5e1ec7ed-0000-4000-8000-0000000a9900"].sort(),
    );
  });
});
