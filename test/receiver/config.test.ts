/** Start-up configuration: defaults, and one clear line naming every bad variable at once. */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { ConfigErrors, loadConfig } from "../../receiver/src/config.ts";
import { run } from "../support/processes.ts";

const required = { ENTRA_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47", ENTRA_AUDIENCES: "api://secure-export" };

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    expect(loadConfig(required)).toEqual({
      port: 8080,
      host: "0.0.0.0",
      auth: {
        tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        clientId: undefined,
        audiences: ["api://secure-export"],
        allowedCallers: ["461e8683-5575-4561-ac7f-899cc907d62a"],
        requiredRole: "ActionGroupsSecureWebhook",
        readerRole: "Incidents.Read",
        operatorRole: "Incidents.Operate",
        syncRole: "Itsm.Sync",
        authority: "https://login.microsoftonline.com",
        clockToleranceSeconds: 300,
        keysRefreshSeconds: 86_400,
        keysMinRefetchSeconds: 5,
      },
      databaseUrl: undefined,
      databaseAuth: { kind: "password" },
      databasePoolMax: 10,
      dataDir: ".data",
      bodyLimitBytes: 1_048_576,
      requestTimeoutMs: 30_000,
      metricsPort: 9464,
      trustedProxyHops: 0,
      retentionDays: 90,
      logLevel: "info",
      quietPeriods: {},
      connectors: [],
      outbox: { maxAgeMs: 86_400_000, retryBaseMs: 5000, retryMaxMs: 900_000, concurrency: 4, pollMs: 1000 },
      routing: { admission: null, connectors: [], routes: null, maintenance: [], noise: [], storm: [], warnings: [] },
      noiseTimerMs: 5000,
      azure: { resourceManager: "https://management.azure.com", clientId: undefined, alertSync: true, reconcileIntervalMs: 900_000, identityEnv: {}, logEvidence: { enabled: false, endpoint: "https://api.loganalytics.io", resource: "https://api.loganalytics.io", waitMs: 0 } },
      credentialWarnDays: 14,
      heartbeat: null,
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
    [{ ...required, CREDENTIAL_WARN_DAYS: "0" }, "CREDENTIAL_WARN_DAYS must be an integer from 1 to 365"],
    [{ ...required, ENTRA_AUTHORITY: "login.microsoftonline.com" }, "ENTRA_AUTHORITY must be an absolute URL"],
    [{ ...required, ENTRA_AUTHORITY: "ftp://login" }, "ENTRA_AUTHORITY must be an http(s) URL"],
    [{ ...required, LOG_LEVEL: "verbose" }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
    [{ ...required, DATABASE_URL: "host=db user=x" }, "DATABASE_URL must be a URL like postgres://"],
    [{ ...required, DATABASE_URL: "mysql://db/x" }, "DATABASE_URL must start with postgres:// or postgresql://"],
  ])("refuses %j", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigErrors);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("reports every problem at once, each naming its variable", () => {
    const error = (() => {
      try {
        loadConfig({ PORT: "http", LOG_LEVEL: "loud", ENTRA_AUDIENCES: "x" });
      } catch (e) {
        return e as ConfigErrors;
      }
    })();
    expect(error?.errors.map((e) => e.variable)).toEqual(["PORT", "ENTRA_TENANT_ID", "LOG_LEVEL"]);
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

  it("names every problem in one line, without a stack trace", async () => {
    const result = await run(["receiver/src/serve.ts"], { PATH: process.env.PATH, PORT: "99999", LOG_LEVEL: "loud", DATABASE_URL: "nope" });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([
      'secure-export receiver: configuration errors: PORT must be an integer from 0 to 65535, got "99999"; ENTRA_TENANT_ID is required but not set; ' +
        'ENTRA_AUDIENCES is required but not set; DATABASE_URL must be a URL like postgres://user@host:5432/database?sslmode=verify-full; ' +
        'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ]);
  });

  it("says in one line that its port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await run(
        ["receiver/src/serve.ts"],
        { PATH: process.env.PATH, ...required, HOST: "127.0.0.1", PORT: String(port), METRICS_PORT: "0", DATABASE_URL: "postgres://127.0.0.1:1/none", ENTRA_AUTHORITY: "http://127.0.0.1:1" },
        60_000,
      );
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toBe(`secure-export receiver: port ${port} on 127.0.0.1 is already in use by another program; stop it or choose another PORT`);
    } finally {
      blocker.close();
    }
  });

  it("refuses to run on a Node.js older than it needs, in one line", async () => {
    const result = await run(["--import", "./receiver/src/node-version.mjs", "-e", ""], { PATH: process.env.PATH, NODE_OPTIONS: "" });
    expect(result.code).toBe(0);
    const faked = await run(["-e", "Object.defineProperty(process.versions, 'node', { value: '20.20.2' }); await import('./receiver/src/node-version.mjs');", "--input-type=module"], { PATH: process.env.PATH });
    expect(faked.code).toBe(2);
    expect(faked.stderr).toMatch(/^secure-export: Node\.js 20\.20\.2 is too old; it needs 22\.18 or later/);
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

describe("log evidence (docs/incidents.md#log-evidence)", () => {
  const evidence = (env: Record<string, string>) => loadConfig({ ...required, ...env }).azure.logEvidence;
  const problem = (env: Record<string, string>) => {
    try {
      loadConfig({ ...required, ...env });
    } catch (error) {
      return (error as ConfigErrors).message;
    }
    return null;
  };

  it("is on with a managed identity, waiting 5 s for the public Log Analytics API, and off without one", () => {
    expect(evidence({ AZURE_CLIENT_ID: "0a1d0a1d-0000-4000-8000-00000000001d" })).toEqual({ enabled: true, endpoint: "https://api.loganalytics.io", resource: "https://api.loganalytics.io", waitMs: 5000 });
    expect(evidence({ IDENTITY_ENDPOINT: "http://localhost:42356/msi/token" }).enabled).toBe(true);
    expect(evidence({})).toMatchObject({ enabled: false, waitMs: 0 });
    expect(evidence({ AZURE_CLIENT_ID: "0a1d0a1d-0000-4000-8000-00000000001d", LOG_EVIDENCE: "off" })).toMatchObject({ enabled: false, waitMs: 0 });
    expect(evidence({ LOG_EVIDENCE: "on", EVIDENCE_WAIT: "off" })).toMatchObject({ enabled: true, waitMs: 0 });
    expect(evidence({ LOG_EVIDENCE: "on", LOG_ANALYTICS_ENDPOINT: "https://api.loganalytics.us/", LOG_ANALYTICS_RESOURCE: "https://api.loganalytics.us" })).toMatchObject({ endpoint: "https://api.loganalytics.us", resource: "https://api.loganalytics.us" });
  });

  it("refuses an endpoint a token could leak from: plain http off loopback, user info", () => {
    expect(problem({ LOG_ANALYTICS_ENDPOINT: "http://api.loganalytics.io" })).toBe('LOG_ANALYTICS_ENDPOINT must be an https URL, got "http://api.loganalytics.io"');
    expect(problem({ LOG_ANALYTICS_ENDPOINT: "https://me:pw@api.loganalytics.io" })).toMatch(/^LOG_ANALYTICS_ENDPOINT must be a plain https URL/);
    expect(problem({ LOG_ANALYTICS_ENDPOINT: "http://127.0.0.1:4000" })).toBeNull();
    expect(problem({ EVIDENCE_WAIT: "5 minutes" })).toMatch(/^EVIDENCE_WAIT must be a duration/);
    expect(problem({ LOG_EVIDENCE: "maybe" })).toBe('LOG_EVIDENCE must be "on" or "off", got "maybe"');
  });
});
