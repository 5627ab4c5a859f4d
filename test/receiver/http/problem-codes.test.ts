/** The error codes the receiver answers with are exactly the ones README's HTTP API table lists, with the same status. */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { PROBLEM_CODES } from "../../../receiver/src/http/problems.ts";

it("README's error table lists every problem code with its status, and nothing else", () => {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## HTTP API"), readme.indexOf("## Incidents and the CMDB"));
  const rows = [...section.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \| .+ \|$/gm)].map((m) => [m[2], Number(m[1])]);
  expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(PROBLEM_CODES).map(([code, { status }]) => [code, status])));
  expect(rows).toHaveLength(Object.keys(PROBLEM_CODES).length);
});
