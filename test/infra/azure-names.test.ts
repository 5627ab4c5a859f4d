/**
 * Azure's naming rules against the names a stack would use, for a range of stack names Pulumi
 * accepts (`[A-Za-z0-9_.-]{1,100}`). The rules are Microsoft Learn's "Naming rules and restrictions
 * for Azure resources" and the az CLI's Container App message; the auto-name is the logical name
 * plus 8 hex characters (pulumi/pulumi-azure-native#3406). test/infra/cli-program-run.test.ts checks
 * the names the program really registers against the same table.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NAMING_RULES, ruleProblem, stackNameProblems, stackNames, worstCaseNames, type NamedKind } from "../../infra/azure-names.ts";
import { parseStackConfig } from "../../infra/stack-config.ts";

describe("the naming rules table", () => {
  // Examples straight from each rule's wording: one valid name, then names breaking one clause each.
  it.each<[NamedKind, string, string[]]>([
    ["containerApp", "secexp-prod", ["Secexp-prod", "1secexp", "secexp-", "sec--exp", "s", "a".repeat(33), "sec_exp"]],
    ["managedEnvironment", "secexp-prod0a1b2c3d", ["Secexp", "secexp-", "-secexp", "a", "a".repeat(61)]],
    ["postgresServer", "secexp-prod0a1b2c3d", ["Secexp", "-secexp", "secexp-", "ab", "a".repeat(64), "sec_exp"]],
    ["containerRegistry", "secexpprodacr0a1b2c3d", ["secexp-prod", "abcd", "a".repeat(51)]],
    ["logAnalyticsWorkspace", "secexp-prod0a1b2c3d", ["abc", "-secexp", "secexp-", "sec_exp", "a".repeat(64)]],
    ["resourceGroup", "secexp-Prod_(1).x", ["secexp.", "", "a".repeat(91)]],
    ["userAssignedIdentity", "secexp-prod_0a1b", ["-secexp", "ab", "sec.exp"]],
    ["virtualNetwork", "secexp-prod.net_", ["-secexp", "secexp-", "a", "a".repeat(65)]],
    ["privateDnsZoneLabel", "secexp-prod", ["-secexp", "secexp-", "sec_exp", "a".repeat(64)]],
    ["actionGroup", "secexp-prod0a1b2c3d", ["sec/exp", "sec%exp", "secexp.", ""]],
  ])("%s accepts %s and refuses each broken clause", (kind, valid, invalid) => {
    expect(ruleProblem(kind, valid)).toBeUndefined();
    for (const name of invalid) expect({ name, problem: ruleProblem(kind, name) }).toEqual({ name, problem: expect.stringContaining(NAMING_RULES[kind].kind) });
  });
});

describe("stack names", () => {
  it("accepts every pull-request stack up to pr-99999999, even with the longest prefix", () => {
    for (const n of [1, 42, 999, 123456, 99999999]) {
      expect(stackNameProblems("secexp", `pr-${n}`)).toEqual([]);
      expect(stackNameProblems("abcdefghijkl", `pr-${n}`)).toEqual([]);
    }
    for (const stack of ["dev", "prod", "staging-eu", "integration-westeurope-01"]) expect(stackNameProblems("secexp", stack)).toEqual([]);
  });

  it("refuses, naming the Container App rule, the names Pulumi accepts but Azure does not", () => {
    for (const stack of ["Staging", "staging_eu", "staging.eu", "a--b", "ends-", "x".repeat(26)]) {
      expect(stackNameProblems("secexp", stack).join()).toMatch(/the Container App name "secexp-.*" \(\d+ characters\) breaks Azure's rule/);
    }
  });

  it("never lets through a name whose worst-case Azure names break a rule, over random Pulumi stack names", () => {
    const pulumiStackName = fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/);
    const prefix = fc.stringMatching(/^[a-z][a-z0-9]{1,11}$/);
    fc.assert(
      fc.property(prefix, pulumiStackName, (namePrefix, stack) => {
        const accepted = (() => {
          try {
            parseStackConfig(stack, { namePrefix, databaseMode: "postgres" });
            return true;
          } catch {
            return false;
          }
        })();
        const broken = worstCaseNames(stackNames(namePrefix, stack)).filter(({ kind, name }) => ruleProblem(kind, name));
        // Preview-pattern names (pr-*) differ only in defaults, never in naming: same verdict.
        expect({ stack, namePrefix, accepted }).toEqual({ stack, namePrefix, accepted: broken.length === 0 });
      }),
      { numRuns: 500 },
    );
  });
});
