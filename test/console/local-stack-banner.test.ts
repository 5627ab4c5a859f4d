/**
 * `npm start -- --with-itsm` as a newcomer runs it: the banner's commands, copied as printed with
 * the ports actually chosen, send an alert, show it with the CLI, and show its ticket in the
 * ServiceNow stand-in.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { eventually } from "../support/eventually.ts";
import { run, start, type Running } from "../support/processes.ts";

vi.setConfig({ testTimeout: 120_000 });

let dataDir: string;
let stack: Running;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "secure-export-banner-"));
  stack = start(["receiver/local/local-stack.ts", "--with-itsm"], { PATH: process.env.PATH, PORT: "0", ISSUER_PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "warn" });
  await stack.waitFor(/Stop with Ctrl\+C/, 110_000);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** The banner line that starts with `prefix` (after indentation), as its words. */
function bannerCommand(prefix: string): string[] {
  const line = stack.output().split("\n").map((l) => l.trim()).find((l) => l.startsWith(prefix));
  if (!line) throw new Error(`the banner has no line starting with "${prefix}":\n${stack.output()}`);
  return line.split(/\s+/);
}

describe("npm start -- --with-itsm", () => {
  it("prints where everything listens, with the ports chosen", () => {
    const output = stack.output();
    const receiver = /receiver\s+(http:\/\/127\.0\.0\.1:(\d+))/.exec(output)![1]!;
    expect(output).toContain(`web console   ${receiver}/console/`);
    expect(output).toContain(`API docs      ${receiver}/docs`);
    expect(output).toMatch(/ServiceNow\s+http:\/\/127\.0\.0\.1:\d+\s+\(stand-in; user admin, password secret\)/);
    expect(output).toMatch(/BMC Helix\s+http:\/\/127\.0\.0\.1:\d+\s+\(stand-in; user integration/);
  });

  it("its send-alert, CLI and curl commands work exactly as printed", async () => {
    // npm run send-alert -- <file> --receiver URL --issuer URL
    const send = bannerCommand("npm run send-alert --").slice(4);
    const sent = await run(["receiver/local/send-alert.ts", ...send], { PATH: process.env.PATH });
    expect(sent.stdout).toMatch(/^202 Accepted/);
    // The same command again is a new alert too (a sample sent as it is would be a duplicate and open no ticket).
    const again = await run(["receiver/local/send-alert.ts", ...send], { PATH: process.env.PATH });
    expect(again.stdout).toContain('"duplicate":false');
    expect(JSON.parse(again.stdout.split("\n")[1]!).incidentId).not.toBe(JSON.parse(sent.stdout.split("\n")[1]!).incidentId);

    // npx secure-export incidents list --receiver URL
    const list = bannerCommand("npx secure-export incidents list").slice(2);
    const listed = await eventually(async () => {
      const result = await run(["receiver/cli/secure-export.ts", ...list], { PATH: process.env.PATH });
      return result.code === 0 && /default:delivered INC\d+/.test(result.stdout) ? result : false;
    }, "the incident delivered to ServiceNow, in the CLI's list");
    expect(listed.stdout).toContain("test-metricAlertRule");
    const ticket = /default:delivered (INC\d+)/.exec(listed.stdout)![1];

    // curl -s -u admin:secret -H 'accept: application/json' URL/api/now/table/incident
    const curl = bannerCommand("curl -s -u");
    const [user, password] = curl[3]!.split(":");
    const tickets = await fetch(curl.at(-1)!, { headers: { accept: "application/json", authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` } });
    const rows = ((await tickets.json()) as { result: Array<{ number: string; short_description: string; cmdb_ci?: string }> }).result;
    expect(rows.map((r) => r.number)).toContain(ticket);
    // Bound to its CI: the stand-in's CMDB knows the samples' resources.
    expect(rows.find((r) => r.number === ticket)?.cmdb_ci).toMatch(/^[0-9a-f]{32}$/);
    // Kept in the data directory, so a restart neither forgets the ticket nor reuses its number.
    expect(JSON.parse(readFileSync(join(dataDir, "itsm", "servicenow.json"), "utf8")).incidents.map((r: { number: string }) => r.number)).toContain(ticket);
  });
});
