/**
 * The `secure-export` bin as npx runs it: the Node.js version check comes first (a plain .mjs), and
 * npx finds it in node_modules/.bin instead of installing the project into its own cache.
 */
import { execFile } from "node:child_process";
import { readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { REPO_ROOT } from "../support/paths.ts";

const json = (path: string) => JSON.parse(readFileSync(join(REPO_ROOT, path), "utf8"));

function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

it("says in one line that a Node.js too old for it must be replaced, before loading any TypeScript", async () => {
  const faked = await node([
    "--input-type=module",
    "-e",
    "Object.defineProperty(process.versions, 'node', { value: '20.20.2' }); await import('./receiver/cli/secure-export.mjs');",
  ]);
  expect(faked.code).toBe(2);
  expect(faked.stderr.trim()).toMatch(/^secure-export: Node\.js 20\.20\.2 is too old; it needs 22\.18 or later \(Node 24 LTS recommended\).*Install it from https:\/\/nodejs\.org or with your version manager\.$/);
});

it("runs the CLI on a recent Node.js", async () => {
  const help = await node(["receiver/cli/secure-export.mjs", "--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: secure-export <command>/);
});

it("is a plain JavaScript bin of the receiver workspace, linked into node_modules/.bin", () => {
  // npm exec runs a bin found in node_modules/.bin at once; a bin of the root package itself makes it
  // load the whole dependency tree and install the project into its npx cache first (seconds a call).
  expect(json("package.json").bin).toBeUndefined();
  expect(json("receiver/package.json").bin).toEqual({ "secure-export": "cli/secure-export.mjs" });
  expect(realpathSync(join(REPO_ROOT, "node_modules/.bin/secure-export"))).toBe(join(REPO_ROOT, "receiver/cli/secure-export.mjs"));
});

it("names a Node.js in .nvmrc that satisfies the engines field and is the one CI installs", () => {
  const wanted = readFileSync(join(REPO_ROOT, ".nvmrc"), "utf8").trim();
  expect(wanted).toMatch(/^\d+$/);
  expect(json("package.json").engines.node).toBe(">=22.18");
  expect(Number(wanted)).toBeGreaterThan(22);
  expect(readFileSync(join(REPO_ROOT, ".ci/run"), "utf8")).toContain(`node@${wanted}`);
});
