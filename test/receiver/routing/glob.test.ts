/**
 * Routing globs: the same answers as the regular expression they used to compile to, in work linear
 * in the input whatever the pattern (the alert rule's name is chosen by whoever names rules in the
 * tenant). Work is counted in character comparisons, not timed.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileGlob } from "../../../receiver/src/routing/glob.ts";

/** What a glob means, spelled as a (backtracking) regular expression: the reference on small inputs. */
function reference(pattern: string): RegExp {
  const source = pattern
    .split("")
    .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, "is");
}

describe("matching", () => {
  it("agrees with the regular expression on any pattern and input", () => {
    const patterns = fc.string({ unit: fc.constantFrom("a", "b", "A", "-", "/", ".", "*", "?"), maxLength: 10 });
    const values = fc.string({ unit: fc.constantFrom("a", "b", "B", "A", "-", "/", ".", "\n"), maxLength: 14 });
    fc.assert(
      fc.property(patterns, values, (pattern, value) => {
        expect(compileGlob(pattern).test(value)).toBe(reference(pattern).test(value));
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ["Microsoft.Network/*", "microsoft.network/virtualNetworks", true],
    ["Microsoft.Network/*", "Microsoft.Compute/virtualMachines", false],
    ["rg-??", "RG-01", true],
    ["rg-??", "rg-001", false],
    ["*prod*", "sub-PROD-weu", true],
    ["Activity Log - *", "Activity Log - Administrative", true],
    ["a*b*c", "abc", true],
    ["a*b*c", "acb", false],
  ])("%s against %s: %s", (pattern, value, expected) => {
    expect(compileGlob(pattern).test(value)).toBe(expected);
  });
});

describe("work", () => {
  const steps = (pattern: string, value: string) => {
    const work = { steps: 0 };
    compileGlob(pattern).test(value, work);
    return work.steps;
  };

  it("answers the alert rule of 90 hyphens against *-*-*-*-*-*-x (which froze the receiver for 10-27 s) in a few hundred comparisons", () => {
    // The matcher counts its work (a regular expression would not, and would not return for a while).
    expect(steps("*-*-*-*-*-*-x", "-".repeat(9))).toBeGreaterThan(0);
    const work = steps("*-*-*-*-*-*-x", "-".repeat(90));
    expect(work).toBeLessThan(500);
    expect(compileGlob("*-*-*-*-*-*-x").test("-".repeat(90))).toBe(false);
  });

  it.each([
    ["*-*-*-*-*-*-x", "-"],
    ["*a*a*a*a*a*a*a*a*b", "a"],
    ["?*?*?*?*?*?*?*?*x", "y"],
    ["*aaaaaaaaab*", "a"],
    ["*a?a?a?a?c*d", "a"],
  ])("grows linearly with the input for %s against a run of %s", (pattern, unit) => {
    expect(steps(pattern, unit.repeat(10))).toBeGreaterThan(0);
    const small = steps(pattern, unit.repeat(1_000));
    const large = steps(pattern, unit.repeat(8_000));
    // At most one comparison per input character per pattern character, and 8x the input is at most ~8x the work.
    expect(large).toBeLessThanOrEqual(8_000 * pattern.length);
    expect(large / small).toBeLessThan(8.5);
  });
});
