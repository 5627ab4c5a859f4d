/**
 * `secure-export rules check <file>`: the offline check of a rules file finds what the receiver's
 * start-up finds and says it in the same words, with exit code 0 or 1.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/paths.ts";
import { run } from "../support/processes.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "secure-export-rules-check-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cli = (args: string[], env: Record<string, string> = {}) => run(["receiver/cli/secure-export.mjs", ...args], { PATH: process.env.PATH, ...env });

/** What `npm run serve` prints about the rules when started with ROUTING_RULES_FILE=file, without the prefix. */
async function startUpSays(file: string, env: Record<string, string> = {}): Promise<string> {
  const served = await run(["receiver/src/serve.ts"], {
    PATH: process.env.PATH,
    ENTRA_TENANT_ID: "5e1ec7ed-0000-4000-8000-00000000c0de",
    ENTRA_AUDIENCES: "api://secure-export-local",
    ROUTING_RULES_FILE: file,
    ...env,
  });
  expect(served.code).toBe(2);
  return served.stderr.trim().replace(/^secure-export receiver: configuration error: /, "");
}

const broken = `admission:
  default: reject
  rules:
    - name: a
      match:
        resourceGroups: ["rg-{a,b}"]
      action: admit
routes:
  - name: r
    to: [nowhere]
maintenance:
  - name: patch
    schedule: "0 22 * * 6"
    duration: 6h
`;

describe("secure-export rules check", () => {
  it("prints every problem exactly as the receiver's start-up does, and exits 1", async () => {
    const file = join(dir, "broken.yaml");
    await writeFile(file, broken);
    const checked = await cli(["rules", "check", file]);
    expect(checked.code).toBe(1);
    const said = checked.stderr.trim().replace(/^secure-export: /, "");
    expect(said).toMatch(/^ROUTING_RULES_FILE has \d+ problems:\n {2}line 6, column 26: admission\.rules\[0\]\.match\.resourceGroups\[0\] uses "\{"/);
    expect(said).toBe(await startUpSays(file));
  });

  it("checks the routes against the connectors this environment's variables configure, as the receiver would", async () => {
    const file = join(dir, "to-default.yaml");
    await writeFile(file, "routes:\n  - name: all\n    to: [default]\n");
    const without = await cli(["rules", "check", file]);
    expect(without.code).toBe(1);
    expect(without.stderr.trim().replace(/^secure-export: /, "")).toBe(await startUpSays(file));
    const servicenow = { SERVICENOW_URL: "https://example.service-now.com", SERVICENOW_USERNAME: "u", SERVICENOW_PASSWORD: "p" };
    const withServiceNow = await cli(["rules", "check", file], servicenow);
    expect(withServiceNow.stdout.trim()).toBe(`${file}: valid; the receiver would start with ROUTING_RULES_FILE=${file}.`);
    expect(withServiceNow.code).toBe(0);
  });

  it("accepts the documented examples, with exit code 0", async () => {
    const file = join(REPO_ROOT, "test/fixtures/routing/allow-list-by-subscription.yaml");
    const checked = await cli(["rules", "check", file]);
    expect(checked.stderr).toBe("");
    expect(checked.code).toBe(0);
  });

  it("says a file that cannot be read as start-up does", async () => {
    const file = join(dir, "missing.yaml");
    const checked = await cli(["rules", "check", file]);
    expect(checked.code).toBe(1);
    expect(checked.stderr.trim().replace(/^secure-export: /, "")).toBe(await startUpSays(file));
  });

  it("needs the file", async () => {
    const checked = await cli(["rules", "check"]);
    expect(checked.code).toBe(2);
    expect(checked.stderr).toContain("missing <file>");
  });
});
