/** The error codes the receiver answers with are exactly the ones docs/http-api.md's table lists, with the same status. */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { PROBLEM_CODES } from "../../../receiver/src/http/problems.ts";

it("docs/http-api.md's error table lists every problem code with its status, and nothing else", () => {
  const doc = readFileSync(new URL("../../../docs/http-api.md", import.meta.url), "utf8");
  const section = doc.slice(0, doc.indexOf("## What is stored as sent"));
  const rows = [...section.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \| .+ \|$/gm)].map((m) => [m[2], Number(m[1])]);
  expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(PROBLEM_CODES).map(([code, { status }]) => [code, status])));
  expect(rows).toHaveLength(Object.keys(PROBLEM_CODES).length);
});
