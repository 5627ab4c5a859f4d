/** Start-up configuration (DESIGN.md §3): defaults, and one clear message naming a bad variable. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../receiver/src/config.ts";
import { run } from "../support/processes.ts";

const required = { ENTRA_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47", ENTRA_AUDIENCES: "api://secure-export" };

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    expect(loadConfig(required)).toEqual({
      port: 8080,
      host: "0.0.0.0",
      auth: {
        tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        audiences: ["api://secure-export"],
        allowedCallers: ["461e8683-5575-4561-ac7f-899cc907d62a"],
        requiredRole: "ActionGroupsSecureWebhook",
        readerRole: "Incidents.Read",
        operatorRole: "Incidents.Operate",
        authority: "https://login.microsoftonline.com",
        clockToleranceSeconds: 300,
        keysRefreshSeconds: 86_400,
        keysMinRefetchSeconds: 10,
      },
      databaseUrl: undefined,
      dataDir: ".data",
      bodyLimitBytes: 1_048_576,
      logLevel: "info",
      quietPeriods: {},
      connectors: [],
      outbox: { maxAgeMs: 86_400_000, retryBaseMs: 5000, retryMaxMs: 900_000, concurrency: 4, pollMs: 1000 },
    });
  });

  it("splits lists and trims the authority's trailing slash", () => {
    const config = loadConfig({ ...required, ENTRA_AUDIENCES: " api://a , b ,", ENTRA_AUTHORITY: "https://login.microsoftonline.us/" });
    expect(config.auth.audiences).toEqual(["api://a", "b"]);
    expect(config.auth.authority).toBe("https://login.microsoftonline.us");
  });

  it.each([
    [{ ENTRA_AUDIENCES: "x" }, "ENTRA_TENANT_ID is required"],
    [{ ENTRA_TENANT_ID: required.ENTRA_TENANT_ID }, "ENTRA_AUDIENCES is required"],
    [{ ...required, ENTRA_TENANT_ID: "contoso.onmicrosoft.com" }, "ENTRA_TENANT_ID must be a GUID"],
    [{ ...required, ENTRA_AUDIENCES: " , " }, "ENTRA_AUDIENCES must list at least one value"],
    [{ ...required, PORT: "http" }, "PORT must be an integer"],
    [{ ...required, ENTRA_AUTHORITY: "login.microsoftonline.com" }, "ENTRA_AUTHORITY must be an absolute URL"],
    [{ ...required, ENTRA_AUTHORITY: "ftp://login" }, "ENTRA_AUTHORITY must be an http(s) URL"],
  ])("refuses %j", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe("npm run serve (the image's entry)", () => {
  it.each([
    [{ ENTRA_AUDIENCES: "api://x" }, "ENTRA_TENANT_ID"],
    [{ ENTRA_TENANT_ID: required.ENTRA_TENANT_ID }, "ENTRA_AUDIENCES"],
  ])("refuses to start without %s, naming the missing variable", async (env, variable) => {
    const result = await run(["receiver/src/serve.ts"], { PATH: process.env.PATH, ...env });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`secure-export receiver: configuration error: ${variable} is required but not set`);
  });
});

describe("INCIDENT_QUIET_PERIODS", () => {
  it("is empty by default: stateless incidents wait for an operator", () => {
    expect(loadConfig(required).quietPeriods).toEqual({});
  });

  it("reads family=duration pairs", () => {
    expect(loadConfig({ ...required, INCIDENT_QUIET_PERIODS: "log=30m, activity-log=4h,budget=7d,service-health=90s" }).quietPeriods).toEqual({
      log: 1_800_000,
      "activity-log": 14_400_000,
      budget: 604_800_000,
      "service-health": 90_000,
    });
  });

  it.each(["metric=1h", "log=0h", "log=1w", "log"])("refuses %j, naming the variable", (value) => {
    expect(() => loadConfig({ ...required, INCIDENT_QUIET_PERIODS: value })).toThrow(/^INCIDENT_QUIET_PERIODS entry/);
  });
});
