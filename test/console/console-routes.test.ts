/** What the receiver serves for people: /console (files and sign-in settings) and /docs (Swagger UI). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../receiver/src/config.ts";
import { consoleConfig } from "../../receiver/src/http/routes/console.ts";
import { LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_TENANT_ID } from "../../receiver/local/local-identity.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { STORE_KINDS, type OpenStore } from "../support/stores.ts";

let store: OpenStore;
let stack: TestStack;

beforeAll(async () => {
  // PostgreSQL: the cheapest store to start on a busy machine; these tests are about HTTP, not storage.
  store = await STORE_KINDS.find((kind) => kind.name === "postgres")!.open();
  stack = await startTestStack({ db: store.db, env: { ENTRA_CLIENT_ID: LOCAL_APP_CLIENT_ID.toUpperCase() } });
});
afterAll(async () => {
  await stack?.close();
  await store?.close();
});

const get = (path: string, init?: RequestInit) => fetch(`${stack.receiver.url}${path}`, { redirect: "manual", ...init });

describe("/console", () => {
  it("publishes where to sign in and for which API, with no secret in it", async () => {
    const response = await get("/console/config.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.json()).toEqual({
      authority: stack.issuer.url,
      tenantId: LOCAL_TENANT_ID,
      issuer: `${stack.issuer.url}/${LOCAL_TENANT_ID}/v2.0`,
      clientId: LOCAL_APP_CLIENT_ID,
      appIdUri: LOCAL_APP_ID_URI,
      scope: `${LOCAL_APP_ID_URI}/user_impersonation`,
      roles: { reader: "Incidents.Read", operator: "Incidents.Operate" },
    });
  });

  it("names the App ID URI the way the Pulumi stack sets ENTRA_AUDIENCES (App ID URI, client id), and has no client without ENTRA_CLIENT_ID", () => {
    const clientId = "0f8c9a0e-1111-4222-8333-444455556666";
    const fromStack = consoleConfig(loadConfig({ ENTRA_TENANT_ID: LOCAL_TENANT_ID, ENTRA_AUDIENCES: `api://${clientId},${clientId}`, ENTRA_CLIENT_ID: clientId }).auth);
    expect(fromStack).toMatchObject({ clientId, appIdUri: `api://${clientId}`, scope: `api://${clientId}/user_impersonation`, issuer: `https://login.microsoftonline.com/${LOCAL_TENANT_ID}/v2.0` });
    const withoutClient = consoleConfig(loadConfig({ ENTRA_TENANT_ID: LOCAL_TENANT_ID, ENTRA_AUDIENCES: "api://secure-export/" }).auth);
    expect(withoutClient).toMatchObject({ clientId: null, appIdUri: "api://secure-export", scope: "api://secure-export/user_impersonation" });
  });

  it("refuses an ENTRA_CLIENT_ID that is not a GUID, naming the variable", () => {
    expect(() => loadConfig({ ENTRA_TENANT_ID: LOCAL_TENANT_ID, ENTRA_AUDIENCES: "api://x", ENTRA_CLIENT_ID: "api://x" })).toThrow(
      'ENTRA_CLIENT_ID must be a GUID (the application\'s client id), got "api://x"',
    );
  });

  it("serves the app at /console/ with a policy that lets it talk only to itself and its authority", async () => {
    expect((await get("/console")).headers.get("location")).toBe("/console/");
    const page = await get("/console/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<script type="module" src="app.js"></script>');
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain(`connect-src 'self' ${stack.issuer.url}`);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    for (const file of ["app.js", "auth.js", "api.js", "dom.js", "style.css", "vendor/oauth4webapi/index.js"]) {
      expect((await get(`/console/${file}`)).status, file).toBe(200);
    }
    expect((await get("/console/app.js")).headers.get("content-type")).toMatch(/javascript/);
  });

  it("serves nothing else: no other file of the library, nothing outside receiver/console", async () => {
    for (const path of ["/console/vendor/oauth4webapi/index.d.ts", "/console/vendor/oauth4webapi/index.js.map", "/console/../src/config.ts", "/console/%2e%2e/src/config.ts", "/console/missing.js"]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
    }
  });
});

describe("/docs", () => {
  it("serves Swagger UI over the receiver's own OpenAPI document", async () => {
    const page = await get("/docs/");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("swagger-ui");
    const document = (await (await get("/docs/json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(["/api/alerts", "/api/incidents", "/api/incidents/{id}", "/api/incidents/{id}/resolve", "/api/deliveries", "/api/deliveries/{id}/retry", "/api/cis"]));
    // People's pages are not API routes.
    expect(Object.keys(document.paths).filter((p) => p.startsWith("/console") || p.startsWith("/docs"))).toEqual([]);
  });
});
