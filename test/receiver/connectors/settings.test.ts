/**
 * Each tool's settings through both doors: the rules form (`connectors.<name>` in the routing rules)
 * and the environment variables that map onto it. The same declaration reads both, so the same
 * value gives the same configuration and the same mistake the same message — naming the variable
 * through one door and the rules field through the other.
 */
import { describe, expect, it } from "vitest";
import { configFromEnv, configFromRules, kindVariables, strayConnectorVariables, type ConnectorKind, type ConnectorSpec } from "../../../receiver/src/connectors/kind.ts";
import type { SettingProblem } from "../../../receiver/src/connectors/credentials.ts";
import { CONNECTOR_KINDS, connectorsFromEnv } from "../../../receiver/src/connectors/kinds.ts";
import { bmcHelix } from "../../../receiver/src/connectors/bmc-helix/index.ts";
import { serviceNow } from "../../../receiver/src/connectors/servicenow/index.ts";
import { ConfigError } from "../../../receiver/src/env.ts";

const SECRETS: Record<string, string> = { SNOW_PW: "s3cret", SNOW_CS: "client-secret", HELIX_PW: "helix" };
const read = (ref: { env: string } | { file: string }) => ("env" in ref ? (SECRETS[ref.env] ?? "") : "");

function fromRules(kind: ConnectorKind, spec: Omit<ConnectorSpec, "kind">): { config: unknown; problems: SettingProblem[] } {
  const problems: SettingProblem[] = [];
  const config = configFromRules(kind, { ...(spec as ConnectorSpec), kind: kind.id }, read, problems);
  return { config, problems };
}

function envError(kind: ConnectorKind, env: Record<string, string>): ConfigError {
  try {
    configFromEnv(kind, env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("the environment was accepted");
}

const SNOW_ENV = { SERVICENOW_URL: "https://dev1.service-now.com/", SERVICENOW_USERNAME: "svc", SERVICENOW_PASSWORD: "s3cret" };
const SNOW_RULES = { url: "https://dev1.service-now.com/", auth: { username: "svc", passwordEnv: "SNOW_PW" } };
const HELIX_ENV = { BMC_HELIX_URL: "https://h.onbmc.com", BMC_HELIX_USERNAME: "svc", BMC_HELIX_PASSWORD: "helix", BMC_HELIX_FIRST_NAME: "Azure", BMC_HELIX_LAST_NAME: "Monitor" };
const HELIX_RULES = { url: "https://h.onbmc.com", firstName: "Azure", lastName: "Monitor", auth: { username: "svc", passwordEnv: "HELIX_PW" } };

describe("the same settings through either door", () => {
  it.each([
    ["ServiceNow with its defaults", serviceNow, SNOW_ENV, SNOW_RULES],
    [
      "ServiceNow in event mode, OAuth, every setting given",
      serviceNow,
      {
        SERVICENOW_URL: "https://dev1.service-now.com",
        SERVICENOW_CLIENT_ID: "abc",
        SERVICENOW_CLIENT_SECRET: "client-secret",
        SERVICENOW_MODE: "event",
        SERVICENOW_URGENCY_MAP: "Sev0=1,Sev1=1,Sev2=1,Sev3=2,Sev4=3,none=3",
        SERVICENOW_CLOSE_CODE: "Solved (Permanently)",
        SERVICENOW_CI_TABLE: "cmdb_ci_vm_instance",
        SERVICENOW_ASSIGNMENT_GROUP: "Cloud Ops",
        SERVICENOW_EVENT_SOURCE: "Azure Monitor (corp)",
      },
      {
        url: "https://dev1.service-now.com",
        auth: { clientId: "abc", clientSecretEnv: "SNOW_CS" },
        mode: "event",
        urgencyBySeverity: { Sev2: 1, Sev3: "2" },
        closeCode: "Solved (Permanently)",
        ciTable: "cmdb_ci_vm_instance",
        assignmentGroup: "Cloud Ops",
        eventSource: "Azure Monitor (corp)",
      },
    ],
    ["BMC Helix with its defaults", bmcHelix, HELIX_ENV, HELIX_RULES],
    [
      "BMC Helix with extra values and an impact map (choices by their number)",
      bmcHelix,
      { ...HELIX_ENV, BMC_HELIX_EXTRA_VALUES: '{"Company":"Contoso"}', BMC_HELIX_IMPACT_MAP: "Sev0=1,Sev1=1,Sev2=2,Sev3=3,Sev4=4,none=4" },
      { ...HELIX_RULES, extraValues: { Company: "Contoso" }, impactBySeverity: { Sev1: 1, Sev2: 2, Sev3: 3, Sev4: 4 } },
    ],
  ] as const)("%s", (_what, kind, env, spec) => {
    const fromEnv = configFromEnv(kind as ConnectorKind, env);
    const { config, problems } = fromRules(kind as ConnectorKind, spec as never);
    expect(problems).toEqual([]);
    expect(config).toEqual(fromEnv);
  });

  it("turns a connector on only with its URL, and reads secrets and the URL from mounted files", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const dir = mkdtempSync(`${(await import("node:os")).tmpdir()}/se-settings-`);
    writeFileSync(`${dir}/url`, "https://files.service-now.com\n");
    writeFileSync(`${dir}/pw`, "from-file\n");
    expect(connectorsFromEnv({})).toEqual([]);
    expect(configFromEnv(serviceNow, { SERVICENOW_URL_FILE: `${dir}/url`, SERVICENOW_USERNAME: "u", SERVICENOW_PASSWORD_FILE: `${dir}/pw` })).toMatchObject({
      url: "https://files.service-now.com",
      auth: { type: "basic", username: "u", password: "from-file" },
    });
  });
});

describe("the same mistake through either door", () => {
  it.each([
    ["a URL that is not one", serviceNow, { SERVICENOW_URL: "dev1.service-now.com" }, { url: "dev1.service-now.com" }, "SERVICENOW_URL", ["url"], 'must be an absolute URL, got "dev1.service-now.com"'],
    ["a URL of another scheme", serviceNow, { SERVICENOW_URL: "ftp://dev1" }, { url: "ftp://dev1" }, "SERVICENOW_URL", ["url"], 'must be an http(s) URL, got "ftp://dev1"'],
    ["an event source longer than em_event.source", serviceNow, { SERVICENOW_EVENT_SOURCE: "s".repeat(101) }, { eventSource: "s".repeat(101) }, "SERVICENOW_EVENT_SOURCE", ["eventSource"], "must be at most 100 characters (ServiceNow's em_event.source), got 101"],
    ["an urgency ServiceNow does not take", serviceNow, { SERVICENOW_URGENCY_MAP: "Sev0=4,Sev1=1,Sev2=2,Sev3=3,Sev4=3,none=3" }, { urgencyBySeverity: { Sev0: 4 } }, "SERVICENOW_URGENCY_MAP", ["urgencyBySeverity", "Sev0"], 'must be one of "1", "2", "3", got'],
    ["extra values that are not text", bmcHelix, { BMC_HELIX_EXTRA_VALUES: '{"Company":1}' }, null, "BMC_HELIX_EXTRA_VALUES", null, "must be a JSON object of field names to string values"],
    ["a missing customer name", bmcHelix, { BMC_HELIX_LAST_NAME: "" }, { lastName: undefined }, "BMC_HELIX_LAST_NAME", ["lastName"], "is required but not set"],
  ] as const)("%s", (_what, kind, envChange, rulesChange, variable, at, message) => {
    const base = kind === serviceNow ? { env: SNOW_ENV, rules: SNOW_RULES } : { env: HELIX_ENV, rules: HELIX_RULES };
    const error = envError(kind as ConnectorKind, { ...base.env, ...envChange });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(`${variable} ${message}`);
    // The rules' shape check (rules-schema.ts) refuses non-text extra values before the tool reads them.
    if (rulesChange === null || at === null) return;
    const { config, problems } = fromRules(kind as ConnectorKind, { ...base.rules, ...rulesChange } as never);
    expect(config).toBeNull();
    expect(problems).toEqual([expect.objectContaining({ code: "invalid_value", at, message: expect.stringContaining(message) })]);
  });

  it("names what is missing to sign in, through either door", () => {
    expect(envError(serviceNow, { SERVICENOW_URL: "https://x" }).message).toBe("SERVICENOW_USERNAME or SERVICENOW_CLIENT_ID is required when SERVICENOW_URL is set");
    expect(envError(serviceNow, { SERVICENOW_URL: "https://x", SERVICENOW_CLIENT_ID: "c" }).message).toBe("SERVICENOW_CLIENT_SECRET is required with SERVICENOW_CLIENT_ID (or set SERVICENOW_CLIENT_SECRET_FILE)");
    expect(envError(bmcHelix, { BMC_HELIX_URL: "https://h", BMC_HELIX_USERNAME: "u" }).message).toBe("BMC_HELIX_PASSWORD is required when BMC_HELIX_URL is set (or set BMC_HELIX_PASSWORD_FILE)");
    expect(fromRules(serviceNow, { url: "https://x", auth: {} }).problems).toEqual([
      { code: "missing_key", at: ["auth"], message: "needs username with passwordEnv or passwordFile (basic), or clientId with clientSecretEnv or clientSecretFile (OAuth)" },
    ]);
    expect(fromRules(bmcHelix, { ...HELIX_RULES, auth: { clientId: "c", clientSecretEnv: "HELIX_PW" } }).problems.map((p) => [p.code, p.at.join(".")])).toEqual([
      ["invalid_value", "auth"],
      ["missing_key", "auth.username"],
      ["missing_key", "auth"],
    ]);
  });
});

describe("variables that would do nothing", () => {
  const messages = (kind: ConnectorKind, env: Record<string, string>, ignore?: ReadonlySet<string>) => strayConnectorVariables(kind, env, ignore).map((e) => e.message);

  it("names a misspelt variable and the one meant", () => {
    expect(messages(serviceNow, { SERVICENOW_ULR: "https://x", SERVICENOW_USERNAME: "u", SERVICENOW_PASSWORD: "p" })).toEqual([
      "SERVICENOW_ULR is not a variable the receiver reads; did you mean SERVICENOW_URL?",
    ]);
    expect(messages(bmcHelix, { ...HELIX_ENV, BMC_HELIX_FIRSTNAME: "A" })).toEqual(["BMC_HELIX_FIRSTNAME is not a variable the receiver reads; did you mean BMC_HELIX_FIRST_NAME?"]);
    expect(messages(serviceNow, { ...SNOW_ENV, SERVICENOW_TICKET_QUEUE: "x" })[0]).toMatch(/^SERVICENOW_TICKET_QUEUE is not a variable the receiver reads; ServiceNow reads SERVICENOW_URL, SERVICENOW_MODE, /);
  });

  it("says a tool's settings do nothing without its URL", () => {
    expect(messages(serviceNow, { SERVICENOW_USERNAME: "u", SERVICENOW_PASSWORD: "p" })).toEqual([
      "SERVICENOW_URL is not set, so SERVICENOW_USERNAME, SERVICENOW_PASSWORD do nothing: set SERVICENOW_URL to turn the ServiceNow connector on, or unset them",
    ]);
  });

  it("leaves alone every variable a tool reads, their _FILE forms, empty ones, and the variables the rules name for secrets", () => {
    for (const kind of CONNECTOR_KINDS) {
      const env = Object.fromEntries(kindVariables(kind).flatMap((v) => [[v, "x"], [`${v}_FILE`, "/x"]]));
      expect(messages(kind, env)).toEqual([]);
    }
    expect(messages(serviceNow, { SERVICENOW_USERNAME: "" })).toEqual([]);
    expect(messages(serviceNow, { SERVICENOW_PASSWORD2: "p" }, new Set(["SERVICENOW_PASSWORD2"]))).toEqual([]);
  });
});
