/**
 * Loading rules at start-up: ROUTING_RULES or ROUTING_RULES_FILE, YAML or JSON, and an error that
 * names the line and field of every problem at once.
 */
import fc from "fast-check";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { connectorsFromEnv } from "../../../receiver/src/connectors/kinds.ts";
import { ConfigError } from "../../../receiver/src/env.ts";
import { checkRules } from "../../../receiver/src/routing/check.ts";
import { loadRoutingRules } from "../../../receiver/src/routing/load-rules.ts";
import { RoutingRulesError, type LocatedProblem } from "../../../receiver/src/routing/problems.ts";
import { environmentConfigs } from "./routing-support.ts";

const SNOW = `  snow:
    kind: servicenow
    url: https://contoso.service-now.com
    auth: { username: svc, passwordEnv: SNOW_PASSWORD }
`;

/** The problems loading `text` reports, as [line, field, code]. */
function problemsOf(text: string, env: Record<string, string> = {}): LocatedProblem[] {
  try {
    loadRoutingRules({ ROUTING_RULES: text, SNOW_PASSWORD: "pw", ...env }, []);
  } catch (error) {
    if (error instanceof RoutingRulesError) return [...error.problems];
    throw error;
  }
  throw new Error("the rules loaded without a problem");
}

function summary(problems: readonly LocatedProblem[]) {
  return problems.map((p) => [p.line, p.path.join("."), p.code]);
}

describe("a rules document with several mistakes", () => {
  const text = [
    /*  1 */ "admission:",
    /*  2 */ "  default: allow",
    /*  3 */ "  rules:",
    /*  4 */ "    - name: lz",
    /*  5 */ "      match: { subscriptions: [Production], severity: [Sev1] }",
    /*  6 */ "      action: admit",
    /*  7 */ "connectors:",
    /*  8 */ "  snow:",
    /*  9 */ "    kind: servicenow",
    /* 10 */ "    url: contoso.service-now.com",
    /* 11 */ "    auth: { username: svc, password: hunter2 }",
    /* 12 */ "routes:",
    /* 13 */ "  - name: payments",
    /* 14 */ "    to: [snow, snow-prod]",
    /* 15 */ "    set: { urgency: 5, assignedGroup: Payments }",
    /* 16 */ "  - name: Payments",
    /* 17 */ "    to: [snow]",
    /* 18 */ "    contine: true",
    /* 19 */ "maintenance:",
    /* 20 */ "  - name: patching",
    /* 21 */ '    cron: "0 22 * * 7-8"',
    /* 22 */ "    duration: 4 hours",
    /* 23 */ "    timeZone: Europe/Berlim",
  ].join("\n");

  it("reports every one, in order, with its line and field", () => {
    expect(summary(problemsOf(text))).toEqual([
      [2, "admission.default", "invalid_value"],
      [5, "admission.rules.0.match.severity", "unknown_key"],
      [10, "connectors.snow.url", "invalid_value"],
      [11, "connectors.snow.auth.password", "inline_secret"],
      [14, "routes.0.to.1", "unknown_connector"],
      [15, "routes.0.set.urgency", "invalid_value"],
      [15, "routes.0.set.assignedGroup", "invalid_value"],
      [16, "routes.1.name", "duplicate_name"],
      [18, "routes.1.contine", "unknown_key"],
      [21, "maintenance.0.cron", "invalid_cron"],
      [22, "maintenance.0.duration", "invalid_duration"],
      [23, "maintenance.0.timeZone", "invalid_time_zone"],
    ]);
  });

  it("says in each message what is wrong and what would be right", () => {
    const error = (() => {
      try {
        loadRoutingRules({ ROUTING_RULES: text }, []);
      } catch (e) {
        return e as RoutingRulesError;
      }
      throw new Error("expected an error");
    })();
    // serve.ts stops start-up on any ConfigError and prints its message.
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variable).toBe("ROUTING_RULES");
    expect(error.code).toBe("routing_rules_invalid");
    const lines = error.message.split("\n");
    expect(lines[0]).toBe("ROUTING_RULES has 12 problems:");
    expect(lines.slice(1)).toEqual([
      '  line 2, column 12: admission.default must be one of "admit", "reject", got "allow"',
      "  line 5, column 45: admission.rules[0].match.severity is not a known key here; expected one of: subscriptions, resourceGroups, resourceTypes, alertRules, severities, monitoringServices, signalTypes, monitorConditions, customProperties",
      '  line 10, column 10: connectors.snow.url must be an absolute URL, got "contoso.service-now.com"',
      "  line 11, column 28: connectors.snow.auth.password is not accepted: secrets never go in the rules; use passwordEnv (an environment variable's name) or passwordFile (a mounted file's path)",
      '  line 14, column 16: routes[0].to[1] names no connector "snow-prod"; known connectors: snow',
      '  line 15, column 21: routes[0].set.urgency must be one of "1", "2", "3" for ServiceNow (table mode), got 5',
      "  line 15, column 39: routes[0].set.assignedGroup is not a field ServiceNow (table mode) incidents take; use one of: assignmentGroup, assignedTo, callerId, category, subcategory, businessService, serviceOffering, contactType, urgency, impact",
      '  line 16, column 5: routes[1].name repeats "Payments", already the name of routes[0]: names must be unique (ignoring case)',
      "  line 18, column 5: routes[1].contine is not a known key here; expected one of: name, match, to, set, continue, onRefireAfterClose",
      '  line 21, column 11: maintenance[0].cron must be a five-field cron expression (minute hour day-of-month month day-of-week), such as "0 22 * * 6"; "0 22 * * 7-8": Invalid value for dayOfWeek: 8',
      '  line 22, column 15: maintenance[0].duration must be a duration such as 90m, 4h, 1h30m, 2d or PT4H, got "4 hours"',
      '  line 23, column 15: maintenance[0].timeZone must be an IANA time zone such as Europe/Berlin, America/New_York or UTC, got "Europe/Berlim"',
    ]);
  });
});

describe("each kind of mistake", () => {
  it.each([
    ["YAML that does not parse", "routes:\n  - name: a\n    to: [x\n", 3, "", "syntax"],
    ["a key given twice", "routes:\n  - name: a\n    name: b\n    to: [x]\n", 3, "", "syntax"],
    ["a document that is not a mapping", "- admit\n", 1, "", "wrong_type"],
    ["a list where a mapping belongs", "admission: [admit]\n", 1, "admission", "wrong_type"],
    ["a missing required key (at the mapping that lacks it)", "admission:\n  rules: []\n", 1, "admission.default", "missing_key"],
    ["text where a list belongs", "connectors:\n" + SNOW + "routes:\n  - name: a\n    to: snow\n", 8, "routes.0.to", "wrong_type"],
    ["continue that is not a boolean", "connectors:\n" + SNOW + "routes:\n  - name: a\n    to: [snow]\n    continue: yes\n", 9, "routes.0.continue", "wrong_type"],
    ["an empty `to`", "connectors:\n" + SNOW + "routes:\n  - name: a\n    to: []\n", 8, "routes.0.to", "empty"],
    ["an empty routes list", "routes: []\n", 1, "routes", "empty"],
    ["an unusable name", "maintenance:\n  - name: weekly patching\n    cron: '0 1 * * 0'\n    duration: 1h\n    timeZone: UTC\n", 2, "maintenance.0.name", "invalid_value"],
    ["a severity Azure does not send", "admission:\n  default: reject\n  rules:\n    - name: a\n      match: { severities: [Critical] }\n      action: admit\n", 5, "admission.rules.0.match.severities.0", "invalid_value"],
    ["a glob with braces", "admission:\n  default: reject\n  rules:\n    - name: a\n      match:\n        resourceGroups: ['rg-{a,b}']\n      action: admit\n", 6, "admission.rules.0.match.resourceGroups.0", "invalid_glob"],
    ["rules that change nothing", "admission:\n  default: admit\n  rules:\n    - name: a\n      action: admit\n", 2, "admission.default", "invalid_value"],
    ["a cron that never fires", "maintenance:\n  - name: w\n    cron: '0 0 30 2 *'\n    duration: 1h\n    timeZone: UTC\n", 3, "maintenance.0.cron", "invalid_cron"],
    ["a cron with seconds", "maintenance:\n  - name: w\n    cron: '0 0 22 * * 6'\n    duration: 1h\n    timeZone: UTC\n", 3, "maintenance.0.cron", "invalid_cron"],
    ["a recurring window without time zone", "maintenance:\n  - name: w\n    cron: '0 22 * * 6'\n    duration: 1h\n", 2, "maintenance.0", "missing_key"],
    ["a window both one-off and recurring", "maintenance:\n  - name: w\n    from: '2026-01-01T00:00:00Z'\n    cron: '0 22 * * 6'\n", 2, "maintenance.0", "invalid_value"],
    ["a timestamp without offset", "maintenance:\n  - name: w\n    from: '2026-01-01T00:00:00'\n    to: '2026-01-02T00:00:00Z'\n", 3, "maintenance.0.from", "invalid_timestamp"],
    ["a window that ends before it starts", "maintenance:\n  - name: w\n    from: '2026-01-02T00:00:00Z'\n    to: '2026-01-01T00:00:00+01:00'\n", 4, "maintenance.0.to", "invalid_value"],
    ["a recurring window of 40 days", "maintenance:\n  - name: w\n    cron: '0 0 1 * *'\n    duration: 40d\n    timeZone: UTC\n", 4, "maintenance.0.duration", "invalid_duration"],
    ["a password env that is unset", "connectors:\n  snow:\n    kind: servicenow\n    url: https://x.service-now.com\n    auth: { username: svc, passwordEnv: NOT_SET }\n", 5, "connectors.snow.auth", "secret_unavailable"],
    ["a password env that is not a name", "connectors:\n  snow:\n    kind: servicenow\n    url: https://x.service-now.com\n    auth: { username: svc, passwordEnv: '$SNOW' }\n", 5, "connectors.snow.auth.passwordEnv", "invalid_value"],
    ["a relative password file", "connectors:\n  snow:\n    kind: servicenow\n    url: https://x.service-now.com\n    auth: { username: svc, passwordFile: secrets/x }\n", 5, "connectors.snow.auth.passwordFile", "invalid_value"],
    ["a password file that does not exist", "connectors:\n  snow:\n    kind: servicenow\n    url: https://x.service-now.com\n    auth: { username: svc, passwordFile: /nonexistent/x }\n", 5, "connectors.snow.auth", "secret_unavailable"],
    ["an inline client secret", "connectors:\n  snow:\n    kind: servicenow\n    url: https://x.service-now.com\n    auth: { clientId: c, clientSecret: s }\n", 5, "connectors.snow.auth.clientSecret", "inline_secret"],
    ["basic and OAuth mixed", "connectors:\n  snow:\n    kind: servicenow\n    url: https://x.service-now.com\n    auth: { username: u, passwordEnv: SNOW_PASSWORD, clientId: c }\n", 5, "connectors.snow.auth", "invalid_value"],
    ["a BMC Helix setting on ServiceNow", "connectors:\n" + SNOW + "    firstName: Azure\n", 6, "connectors.snow.firstName", "unknown_key"],
    ["a BMC Helix connector without lastName", "connectors:\n  helix:\n    kind: bmc-helix\n    url: https://h.onbmc.com\n    firstName: Azure\n    auth: { username: u, passwordEnv: SNOW_PASSWORD }\n", 2, "connectors.helix.lastName", "invalid_value"],
    ["a severity map value ServiceNow does not take", "connectors:\n" + SNOW + "    urgencyBySeverity: { Sev0: 4 }\n", 6, "connectors.snow.urgencyBySeverity.Sev0", "invalid_value"],
    ["a connector named like today's", "connectors:\n  default:\n    kind: servicenow\n    url: https://x.service-now.com\n    auth: { username: svc, passwordEnv: SNOW_PASSWORD }\n", 2, "connectors.default", "duplicate_name"],
    ["a BMC Helix field set on ServiceNow", "connectors:\n" + SNOW + "routes:\n  - name: a\n    to: [snow]\n    set: { assignedGroup: Ops }\n", 9, "routes.0.set.assignedGroup", "invalid_value"],
    ["a set field that is not text", "connectors:\n" + SNOW + "routes:\n  - name: a\n    to: [snow]\n    set: { category: [Software] }\n", 9, "routes.0.set.category", "invalid_value"],
    ["an urgency BMC Helix does not take", "connectors:\n  helix:\n    kind: bmc-helix\n    url: https://h.onbmc.com\n    firstName: A\n    lastName: M\n    auth: { username: u, passwordEnv: SNOW_PASSWORD }\nroutes:\n  - name: a\n    to: [helix]\n    set: { urgency: Critical }\n", 11, "routes.0.set.urgency", "invalid_value"],
  ] as const)("%s", (_what, text, line, field, code) => {
    const environment = field === "connectors.default" ? environmentConfigs({ servicenow: true }) : [];
    let problems: LocatedProblem[];
    try {
      loadRoutingRules({ ROUTING_RULES: text, SNOW_PASSWORD: "pw" }, environment);
      throw new Error("the rules loaded without a problem");
    } catch (error) {
      if (!(error instanceof RoutingRulesError)) throw error;
      problems = [...error.problems];
    }
    expect(summary(problems)).toEqual([[line, field, code]]);
  });

  it("never fails on a document of any shape with anything but its list of problems (property)", () => {
    const json = fc.jsonValue({ maxDepth: 2 });
    const plausible = {
      admission: fc.record({ default: fc.oneof(fc.constantFrom("admit", "reject"), json), rules: fc.oneof(fc.array(fc.oneof(fc.record({ name: fc.oneof(fc.constant("r"), json), action: json, match: json }, { requiredKeys: [] }), json)), json) }, { requiredKeys: [] }),
      connectors: fc.dictionary(fc.constantFrom("snow", "Snow", "default", "bad name"), fc.oneof(fc.record({ kind: fc.oneof(fc.constantFrom("servicenow", "bmc-helix"), json), url: json, auth: json, mode: json }, { requiredKeys: [] }), json)),
      routes: fc.array(fc.oneof(fc.record({ name: json, to: fc.oneof(fc.constant(["snow"]), json), set: json, match: json, continue: json }, { requiredKeys: [] }), json)),
      maintenance: fc.array(fc.oneof(fc.record({ name: json, cron: json, duration: json, timeZone: json, from: json, to: json, match: json }, { requiredKeys: [] }), json)),
    };
    const section = (arb: fc.Arbitrary<unknown>) => fc.oneof(arb, json);
    const doc = fc.oneof(
      fc.record({ admission: section(plausible.admission), connectors: section(plausible.connectors), routes: section(plausible.routes), maintenance: section(plausible.maintenance) }, { requiredKeys: [] }),
      json,
    );
    fc.assert(
      fc.property(doc, (value) => {
        try {
          loadRoutingRules({ ROUTING_RULES: JSON.stringify(value) ?? "null", SNOW_PASSWORD: "pw" }, environmentConfigs({ servicenow: true }));
        } catch (error) {
          expect(error).toBeInstanceOf(RoutingRulesError);
          for (const p of (error as RoutingRulesError).problems) expect(p.line).toBe(1);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("tells how to fix a route that mixes connector kinds", () => {
    const text = `connectors:\n${SNOW}  helix:\n    kind: bmc-helix\n    url: https://h.onbmc.com\n    firstName: A\n    lastName: M\n    auth: { username: u, passwordEnv: SNOW_PASSWORD }\nroutes:\n  - name: both\n    to: [snow, helix]\n    set: { assignmentGroup: Ops, urgency: 2 }\n`;
    const [only] = problemsOf(text);
    expect(only).toMatchObject({ line: 15, path: ["routes", 0, "set", "assignmentGroup"] });
    expect(only!.message).toContain('route sends to BMC Helix connector "helix"; split it into routes per kind with continue: true');
  });

  it("maps lines in JSON too (JSON is YAML), and gives the column on a one-line document", () => {
    const json = JSON.stringify({ routes: [{ name: "a", to: ["nowhere"] }] }, null, 2);
    expect(summary(problemsOf(json))).toEqual([[6, "routes.0.to.0", "unknown_connector"]]);
    const oneLine = JSON.stringify({ routes: [{ name: "a", to: ["nowhere"] }] });
    expect(problemsOf(oneLine)).toEqual([expect.objectContaining({ line: 1, column: oneLine.indexOf('"nowhere"') + 1 })]);
  });
});

describe("where the rules come from", () => {
  const dir = mkdtempSync(join(tmpdir(), "routing-rules-"));

  it("reads ROUTING_RULES_FILE and names it in errors", () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "routes:\n  - name: a\n    to: [nowhere]\n");
    expect(() => loadRoutingRules({ ROUTING_RULES_FILE: file }, [])).toThrow(/^ROUTING_RULES_FILE line 3, column 10: routes\[0\]\.to\[0\] names no connector "nowhere"/);
    const good = join(dir, "good.yaml");
    writeFileSync(good, "admission:\n  default: reject\n  rules:\n    - name: a\n      match: { severities: [Sev0] }\n      action: admit\n");
    expect(loadRoutingRules({ ROUTING_RULES_FILE: good }, []).admission?.rules.map((r) => r.name)).toEqual(["a"]);
  });

  it("refuses both variables at once, and a file it cannot read", () => {
    expect(() => loadRoutingRules({ ROUTING_RULES: "{}", ROUTING_RULES_FILE: join(dir, "x") }, [])).toThrow(
      new ConfigError("ROUTING_RULES_FILE", "and ROUTING_RULES are both set: give the rules one way"),
    );
    expect(() => loadRoutingRules({ ROUTING_RULES_FILE: join(dir, "missing.yaml") }, [])).toThrow(/^ROUTING_RULES_FILE names a file that cannot be read: ENOENT/);
  });

  it("treats an empty document, or one of only comments, as no rules", () => {
    for (const text of ["{}", "# routing rules: none yet\n", "---\n"]) {
      const rules = loadRoutingRules({ ROUTING_RULES: text }, environmentConfigs({ servicenow: true }));
      expect(rules).toMatchObject({ admission: null, routes: null, maintenance: [], connectors: [{ name: "default", origin: "environment" }] });
    }
  });
});

describe("named connectors", () => {
  it("build the same ConnectorConfig as today's variables, with the secret from the variable it names", () => {
    const rules = loadRoutingRules({ ROUTING_RULES: `connectors:\n${SNOW}    assignmentGroup: Cloud Ops\n`, SNOW_PASSWORD: "s3cret" }, []);
    const expected = connectorsFromEnv({
      SERVICENOW_URL: "https://contoso.service-now.com",
      SERVICENOW_USERNAME: "svc",
      SERVICENOW_PASSWORD: "s3cret",
      SERVICENOW_ASSIGNMENT_GROUP: "Cloud Ops",
    })[0];
    expect(rules.connectors).toEqual([{ name: "snow", origin: "rules", config: expected }]);
  });

  it("read a secret from the file they name, take OAuth client credentials, and merge a partial severity map over the defaults", () => {
    const file = join(mkdtempSync(join(tmpdir(), "routing-secret-")), "client-secret");
    writeFileSync(file, "from-a-file\n");
    const text = `connectors:\n  snow:\n    kind: servicenow\n    url: https://x.service-now.com/\n    mode: event\n    auth: { clientId: abc, clientSecretFile: ${file} }\n    impactBySeverity: { Sev4: 2 }\n`;
    const [connector] = loadRoutingRules({ ROUTING_RULES: text }, []).connectors;
    expect(connector!.config).toMatchObject({
      kind: "servicenow",
      url: "https://x.service-now.com",
      mode: "event",
      auth: { type: "oauth", clientId: "abc", clientSecret: "from-a-file" },
      impactBySeverity: { Sev0: "1", Sev1: "2", Sev2: "2", Sev3: "3", Sev4: "2", none: "3" },
    });
  });

  it("keep today's variables as `default` (and `default-bmc-helix` beside a ServiceNow one), routable by those names", () => {
    const both = environmentConfigs({ servicenow: true, bmcHelix: true });
    const text = "routes:\n  - name: helix-only\n    to: [default-bmc-helix]\n    set: { urgency: 1 }\n  - name: rest\n    to: [default]\n";
    const rules = loadRoutingRules({ ROUTING_RULES: text }, both);
    expect(rules.connectors.map((c) => [c.name, c.origin, c.config.kind])).toEqual([
      ["default", "environment", "servicenow"],
      ["default-bmc-helix", "environment", "bmc-helix"],
    ]);
    expect(rules.routes?.[0]?.sets.get("default-bmc-helix")).toEqual({ urgency: "1-Critical" });
    const helixAlone = loadRoutingRules({}, environmentConfigs({ bmcHelix: true }));
    expect(helixAlone.connectors.map((c) => c.name)).toEqual(["default"]);
  });
});

describe("checkRules (the preview-time check)", () => {
  it("reads no secret, and reports the same problems as loading", () => {
    const text = `connectors:\n${SNOW}routes:\n  - name: a\n    to: [snow, default]\n`;
    expect(checkRules(text, [{ kind: "servicenow", mode: "table" }]).problems).toEqual([]);
    expect(summary(checkRules(text).problems)).toEqual([[8, "routes.0.to.1", "unknown_connector"]]);
    expect(summary(checkRules("routes:\n  - name: a\n    to: [default]\n    set: { severity: 9 }\n", [{ kind: "servicenow", mode: "event" }]).problems)).toEqual([[4, "routes.0.set.severity", "invalid_value"]]);
  });
});
