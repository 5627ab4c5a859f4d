/**
 * secure-export:routing and routingSecrets: what `pulumi preview` refuses, and what the receiver
 * gets. The rules check is the receiver's own (checkRoutingRules); these tests pin what the stack
 * adds: the JSON text and its line numbers, secret references resolved against what the stack sets,
 * and routingSecrets as Container App secrets.
 */
import { describe, expect, it } from "vitest";
import { renderReceiverEnvironment } from "../../infra/receiver-environment.ts";
import { parseRoutingSecrets, routingRuleWarnings, routingSecretName } from "../../infra/routing-config.ts";
import { StackConfigError, parseStackConfig, type RawConfig } from "../../infra/stack-config.ts";
import { ruleProblem } from "../../infra/azure-names.ts";

const CORP = { kind: "servicenow", url: "https://contoso.service-now.com", auth: { username: "svc-azure-alerts", passwordEnv: "SNOW_CORP_PASSWORD" } };
const SERVICENOW: RawConfig = { servicenowUrl: "https://dev1.service-now.com", servicenowUsername: "integration" };

function refusal(run: () => unknown): StackConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof StackConfigError) return error;
    throw error;
  }
  throw new Error("the configuration was accepted");
}

/** The `line …` entries of a refusal, trimmed. */
const problemLines = (error: Error) => error.message.split("\n").slice(1).map((l) => l.trim());

describe("secure-export:routing", () => {
  it("becomes ROUTING_RULES as JSON indented by 2, the text the receiver's error lines count in", () => {
    const routing = { connectors: { "snow-corp": CORP }, routes: [{ name: "all", to: ["snow-corp", "default"] }] };
    const settings = parseStackConfig("dev", { ...SERVICENOW, routing: JSON.stringify(routing) }, new Set(["servicenowPassword"]), ["SNOW_CORP_PASSWORD"]);
    expect(settings.routingRules).toBe(JSON.stringify(routing, null, 2));
    expect(parseStackConfig("dev", {}).routingRules).toBeUndefined();
  });

  it("refuses with every problem at once, each with its line and field in that text, sorted by line", () => {
    const routing = {
      admission: { default: "allow" },
      connectors: { "snow-corp": CORP },
      routes: [{ name: "payments", to: ["snow-corp", "snow-prod"] }],
    };
    const error = refusal(() => parseStackConfig("dev", { routing: JSON.stringify(routing) }));
    expect(error.code).toBe("STACK_CONFIG_INVALID");
    expect(error.message.split("\n")[0]).toBe("secure-export:routing has 3 problems (lines of ROUTING_RULES, the rules as the receiver gets them: JSON indented by 2):");
    const text = JSON.stringify(routing, null, 2).split("\n");
    const lineOf = (needle: string) => text.findIndex((l) => l.includes(needle)) + 1;
    expect(problemLines(error)).toEqual([
      expect.stringMatching(new RegExp(`^line ${lineOf('"default": "allow"')}, column \\d+: admission\\.default `)),
      expect.stringMatching(new RegExp(`^line ${lineOf('"passwordEnv"')}, column \\d+: connectors\\.snow-corp\\.auth\\.passwordEnv names SNOW_CORP_PASSWORD, which neither`)),
      expect.stringMatching(new RegExp(`^line ${lineOf('"snow-prod"')}, column \\d+: routes\\[0\\]\\.to\\[1\\] names no connector "snow-prod"`)),
    ]);
  });

  it("checks the rules against the connectors the stack's own keys configure (default is ServiceNow in event mode here)", () => {
    const routing = { routes: [{ name: "sev", to: ["default"], set: { severity: 9 } }] };
    const error = refusal(() => parseStackConfig("dev", { ...SERVICENOW, servicenowMode: "event", routing: JSON.stringify(routing) }, new Set(["servicenowPassword"])));
    expect(problemLines(error)).toEqual([expect.stringMatching(/routes\[0\]\.set\.severity must be one of/)]);
    // Without the stack's connector, `default` names nothing.
    expect(problemLines(refusal(() => parseStackConfig("dev", { routing: JSON.stringify({ routes: [{ name: "a", to: ["default"] }] }) })))).toEqual([
      expect.stringMatching(/routes\[0\]\.to\[0\] names no connector "default"/),
    ]);
  });

  it("resolves passwordEnv / clientSecretEnv against routingSecrets and the stack's own connector secrets", () => {
    const routing = (auth: object) => JSON.stringify({ connectors: { "snow-corp": { ...CORP, auth } } });
    // The stack's ServiceNow connector (basic) sets SERVICENOW_PASSWORD; OAuth would set SERVICENOW_CLIENT_SECRET instead.
    expect(parseStackConfig("dev", { ...SERVICENOW, routing: routing({ username: "svc", passwordEnv: "SERVICENOW_PASSWORD" }) }, new Set(["servicenowPassword"])).routingRules).toBeDefined();
    expect(problemLines(refusal(() => parseStackConfig("dev", { ...SERVICENOW, routing: routing({ username: "svc", passwordEnv: "SERVICENOW_CLIENT_SECRET" }) }, new Set(["servicenowPassword"]))))).toEqual([
      expect.stringContaining("names SERVICENOW_CLIENT_SECRET, which neither secure-export:routingSecrets nor the stack's connector secrets provide"),
    ]);
    expect(parseStackConfig("dev", { routing: routing({ clientId: "abc", clientSecretEnv: "SNOW_CORP_SECRET" }) }, new Set(), ["SNOW_CORP_SECRET"]).routingRules).toBeDefined();
    expect(problemLines(refusal(() => parseStackConfig("dev", { routing: routing({ username: "svc", passwordFile: "/mnt/secrets/snow" }) })))).toEqual([
      expect.stringContaining("connectors.snow-corp.auth.passwordFile names a file, but the stack mounts no secret files: use passwordEnv with a secure-export:routingSecrets entry"),
    ]);
  });

  it("refuses a value that is not an object, naming the key", () => {
    for (const value of ["routes: []", "[]", '"text"']) {
      expect(refusal(() => parseStackConfig("dev", { routing: value })).message).toMatch(/^secure-export:routing must be the rules as an object/);
    }
  });
});

describe("secure-export:routingSecrets", () => {
  it("reads the JSON object Pulumi hands over (set whole or key by key with --path), one Container App secret per variable", () => {
    expect(parseRoutingSecrets(JSON.stringify({ SNOW_CORP_PASSWORD: "a", helix__pw_: "b" }))).toEqual([
      { variable: "SNOW_CORP_PASSWORD", secretName: "routing-snow-corp-password", value: "a" },
      { variable: "helix__pw_", secretName: "routing-helix-pw", value: "b" },
    ]);
    expect(parseRoutingSecrets(undefined)).toEqual([]);
  });

  it("derives names Container Apps accepts as secret names", () => {
    for (const variable of ["A", "_X_", "SNOW_CORP_PASSWORD", "a1__b2"]) expect(ruleProblem("containerAppSecret", routingSecretName(variable))).toBeUndefined();
  });

  it("refuses what cannot become a variable and a secret: bad names, empty values, two names for one secret", () => {
    const error = refusal(() => parseRoutingSecrets(JSON.stringify({ "SNOW-PW": "a", EMPTY: "", SNOW_PW: "b", snow_pw: "c" })));
    expect(error.message).toBe(
      [
        "secure-export:routingSecrets has 3 problems:",
        '  "SNOW-PW" is not an environment variable name (letters, digits and \'_\', not starting with a digit)',
        "  EMPTY must be a non-empty text value",
        '  SNOW_PW and snow_pw would both become the Container App secret "routing-snow-pw": rename one',
      ].join("\n"),
    );
    expect(refusal(() => parseRoutingSecrets('["a"]')).message).toMatch(/^secure-export:routingSecrets must be an object of receiver variable names to secret values/);
  });

  it("becomes variables referencing secrets, never inlined, and may not replace a variable the stack sets", () => {
    const base = { tenantId: "t", appIdUri: "api://c", clientId: "c", database: { mode: "embedded" as const }, secrets: {}, join: (parts: readonly string[]) => parts.join("") };
    const secrets = parseRoutingSecrets(JSON.stringify({ SNOW_CORP_PASSWORD: "corp-secret" }));
    const rendered = renderReceiverEnvironment({ ...base, connectors: { extraEnvironment: {} }, routing: { rules: '{\n  "routes": []\n}', secrets } });
    expect(rendered.env).toEqual(expect.arrayContaining([{ name: "ROUTING_RULES", value: '{\n  "routes": []\n}' }, { name: "SNOW_CORP_PASSWORD", secretRef: "routing-snow-corp-password" }]));
    expect(rendered.secrets).toEqual([{ name: "routing-snow-corp-password", value: "corp-secret" }]);
    expect(JSON.stringify(rendered.env)).not.toContain("corp-secret");
    const clash = refusal(() => renderReceiverEnvironment({ ...base, connectors: { extraEnvironment: {} }, routing: { rules: undefined, secrets: parseRoutingSecrets(JSON.stringify({ ENTRA_TENANT_ID: "x" })) } }));
    expect(clash.message).toBe("secure-export:routingSecrets must not set ENTRA_TENANT_ID, which the stack sets");
  });
});

describe("secure-export:routing warnings at preview", () => {
  it("names the line and field of a noise hold shorter than Azure needs to resolve, and deploys the rules anyway", () => {
    const routing = JSON.stringify({ noise: [{ name: "blips", match: { signalTypes: ["Log"] }, holdFor: "5m" }] });
    expect(routingRuleWarnings(routing)).toEqual([
      expect.stringMatching(/^secure-export:routing \(ROUTING_RULES\): line 10, column 18: noise\[0\]\.holdFor is "5m", shorter than Azure needs to send Resolved: a log search alert at a 1-minute frequency resolves only after 10m/),
    ]);
    expect(parseStackConfig("dev", { ...SERVICENOW, routing }, new Set(["servicenowPassword"])).routingRules).toContain('"holdFor": "5m"');
    expect(routingRuleWarnings(JSON.stringify({ noise: [{ name: "blips", match: { signalTypes: ["Metric"] }, holdFor: "10m" }] }))).toEqual([]);
    expect(routingRuleWarnings(undefined)).toEqual([]);
  });
});
