/** `pulumi up` with a bad value stops with the documented message. */
import { describe, expect, it } from "vitest";
import { runProgram } from "./pulumi-mocks.ts";

describe("a stack with a bad configuration value", () => {
  it("fails with the message naming the key", async () => {
    const run = runProgram({ stack: "dev", config: { actionGroupShortName: "secure-export-dev" } });
    await expect(run).rejects.toThrow('secure-export:actionGroupShortName must be at most 12 characters (Azure\'s limit for an action group\'s short name), got "secure-export-dev" (17)');
  });
});
