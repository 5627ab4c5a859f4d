/**
 * `npx secure-export …` as a user runs it: a separate process against the local stack (receiver,
 * local issuer, ServiceNow and BMC Helix stand-ins), reading what it prints and its exit code.
 */
import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Fastify from "fastify";
import { decodeJwt } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { COMMANDS } from "../../receiver/cli/commands.ts";
import { consoleConfig } from "../../receiver/src/http/routes/console.ts";
import { LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_USERS } from "../../receiver/local/local-identity.ts";
import type { LocalStack } from "../../receiver/local/start-local-stack.ts";
import { eventually } from "../support/eventually.ts";
import { writeAlert } from "../support/local-alerts.ts";
import { startLocalStackFixture, type LocalStackFixture } from "../support/local-stack-fixture.ts";
import { run, type Finished } from "../support/processes.ts";
import { REPO_ROOT } from "../support/paths.ts";

// Each test starts the CLI several times, a new Node process each, on a machine shared with other suites.
vi.setConfig({ testTimeout: 120_000 });

let fixture: LocalStackFixture;
let dir: string;
let stack: LocalStack;
let api: LocalStackFixture["api"];

beforeAll(async () => {
  fixture = await startLocalStackFixture("cli");
  ({ dir, stack, api } = fixture);
}, 120_000);
afterAll(() => fixture?.close());
afterEach(() => {
  stack.itsm!.serviceNow.fail(0);
});

/** The CLI with only what a user's shell would have: PATH, and the receiver's URL. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Finished> {
  return run(["receiver/cli/secure-export.ts", ...args], { PATH: process.env.PATH, RECEIVER_URL: stack.receiver.url, ...env });
}

async function sent(options: Parameters<typeof writeAlert>[1] = {}) {
  const alert = await writeAlert(dir, options);
  const response = await fetch(`${stack.receiver.url}/api/alerts`, {
    method: "POST",
    headers: { authorization: `Bearer ${await stack.issuer.mint()}`, "content-type": "application/json" },
    body: JSON.stringify(alert.payload),
  });
  expect(response.status).toBe(202);
  const { incidentId } = (await response.json()) as { incidentId: string };
  return { ...alert, incidentId };
}

const delivered = (incidentId: string, action: string) =>
  eventually(async () => {
    const { body } = await api.get(`/api/incidents/${incidentId}`);
    return body.deliveries.length === 2 && body.deliveries.every((d: any) => d.action === action && d.status === "delivered") ? body : false;
  }, `${action} delivered to both tools`);

describe("help", () => {
  it("runs as `npx secure-export` from the repository (the package.json bin)", async () => {
    const result = await new Promise<Finished>((resolve, reject) => {
      import("node:child_process").then(({ execFile }) =>
        execFile("npx", ["--no-install", "secure-export", "--help"], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME } }, (error, stdout, stderr) =>
          error && error.code !== 0 ? reject(Object.assign(error, { stdout, stderr })) : resolve({ code: 0, stdout, stderr }),
        ),
      );
    });
    for (const command of COMMANDS) expect(result.stdout).toContain(command.path.join(" "));
  });

  it("has --help for every command, naming each of its options, and exits 0", async () => {
    for (const command of COMMANDS) {
      const result = await cli([...command.path, "--help"]);
      expect(result.code, command.path.join(" ")).toBe(0);
      expect(result.stdout).toContain(`usage: secure-export ${command.path.join(" ")}`);
      for (const spec of Object.values(command.options)) expect(result.stdout).toContain(spec.usage);
    }
    const group = await cli(["deliveries", "--help"]);
    expect(group.stdout).toMatch(/list\s+List ITSM deliveries/);
    expect(group.stdout).toMatch(/retry <id>\s+Replay/);
  });

  it("refuses a wrong command line with exit code 2 and says what is wrong", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["incidents", "lst"], /unknown command "incidents lst"/],
      [["incident", "list"], /unknown command "incident"; commands: status, incidents, deliveries, cis, rules, routing, silences/],
      [["incidents", "list", "--bogus"], /Unknown option '--bogus'/],
      [["incidents", "show", "--note", "x", "some-id"], /--note is not an option of "incidents show"/],
      [["incidents", "list", "--state", "closed"], /--state must be one of open, resolved, got "closed"/],
      [["incidents", "list", "--since", "yesterday"], /--since must be a duration like 30m/],
      [["deliveries", "retry"], /missing <id>/],
      [["incidents", "list", "--auth", "password"], /--auth must be one of auto, local, azure-cli, device-code/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});

describe("incidents", () => {
  it("lists an incident as a table with its CI and ITSM tickets, and as JSON with --json", async () => {
    const alert = await sent();
    const incident = await delivered(alert.incidentId, "open");
    const ticket = incident.deliveries.find((d: any) => d.connector === "default").externalNumber;
    expect(ticket).toMatch(/^INC/);

    const table = await cli(["incidents", "list"]);
    expect(table.code).toBe(0);
    const header = table.stdout.split("\n")[0]!;
    expect(header.split(/\s{2,}/)).toEqual(["ID", "SEV", "STATE", "FIRED", "TITLE", "CIS", "ITSM"]);
    const row = table.stdout.split("\n").find((line) => line.startsWith(alert.incidentId));
    expect(row).toContain(alert.title);
    expect(row).toContain("Sev4");
    expect(row).toContain(`default:delivered ${ticket}`);

    const json = await cli(["incidents", "list", "--json"]);
    const items = JSON.parse(json.stdout);
    expect(items.find((i: any) => i.id === alert.incidentId)).toMatchObject({ alertId: alert.alertId, state: "open", title: alert.title });
  });

  it("filters by state, severity, CI and --since", async () => {
    const sev1 = await sent({ severity: "Sev1" });
    const ids = async (...args: string[]) => JSON.parse((await cli(["incidents", "list", "--json", ...args])).stdout).map((i: any) => i.id);
    expect(await ids("--severity", "Sev1")).toContain(sev1.incidentId);
    expect(await ids("--severity", "Sev2")).not.toContain(sev1.incidentId);
    expect(await ids("--state", "resolved")).not.toContain(sev1.incidentId);
    expect(await ids("--state", "open")).toContain(sev1.incidentId);
    expect(await ids("--ci", sev1.payload.data.essentials.alertTargetIDs[0])).toEqual([sev1.incidentId]);
    expect(await ids("--since", "10m")).toContain(sev1.incidentId);
    expect(await ids("--since", new Date(Date.now() + 60_000).toISOString())).not.toContain(sev1.incidentId);
  });

  it("pages with --limit and says when there is more", async () => {
    await sent();
    await sent();
    const result = await cli(["incidents", "list", "--limit", "1"]);
    expect(result.stdout.split("\n").filter((l) => /^[0-9a-f]{8}-/.test(l))).toHaveLength(1);
    expect(result.stdout).toContain("(1 shown; more with --limit 2)");
  });

  it("shows one incident by id or by Azure alertId: facts, CIs, deliveries with tool ids, timeline", async () => {
    const alert = await sent();
    const incident = await delivered(alert.incidentId, "open");
    const serviceNow = incident.deliveries.find((d: any) => d.connector === "default");
    for (const key of [alert.incidentId, alert.alertId]) {
      const result = await cli(["incidents", "show", key]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Incident\\s+${alert.incidentId}$`, "m"));
      expect(result.stdout).toMatch(new RegExp(`^Alert id\\s+${alert.alertId.replace(/[/.]/g, "\\$&")}$`, "m"));
      expect(result.stdout).toMatch(new RegExp(`^${alert.payload.data.essentials.configurationItems[0]}\\s+yes\\s+/subscriptions/`, "m"));
      expect(result.stdout).toMatch(new RegExp(`default\\s+open\\s+delivered\\s+${serviceNow.externalNumber} ${serviceNow.externalId}`));
      expect(result.stdout).toMatch(/^Timeline\nAT\s+WHAT\n\S+ \S+\s+opened: the alert fired/m);
    }
    const missing = await cli(["incidents", "show", "00000000-0000-4000-8000-000000000000"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("incident 00000000-0000-4000-8000-000000000000 not found");
  });

  it("resolves an incident with a note, which reaches the timeline and the ITSM tools", async () => {
    const alert = await sent();
    await delivered(alert.incidentId, "open");
    const result = await cli(["incidents", "resolve", alert.incidentId, "--note", "disk cleaned up"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Resolved ${alert.incidentId} (${alert.title}).`);
    const after = await delivered(alert.incidentId, "resolve");
    expect(after.state).toBe("resolved");
    const resolvedEvent = after.timeline.find((e: any) => e.type === "resolved");
    expect(resolvedEvent.actor).toEqual(expect.any(String));
    expect(JSON.stringify(resolvedEvent.detail)).toContain("disk cleaned up");
    const ticket = stack.itsm!.serviceNow.incidents().find((row) => row.number === after.deliveries.find((d: any) => d.connector === "default").externalNumber);
    expect(ticket?.state).toBe("6");
  });

  it("says an incident is already resolved instead of resolving it again, and shows the timeline in words", async () => {
    const alert = await sent();
    await delivered(alert.incidentId, "open");
    expect((await cli(["incidents", "resolve", alert.incidentId, "--note", "first"])).code).toBe(0);
    const again = await cli(["incidents", "resolve", alert.incidentId, "--note", "second"]);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toMatch(new RegExp(`^${alert.incidentId} \\(${alert.title}\\) was already resolved by \\S+ in secure-export: first \\(\\d{4}-\\d\\d-\\d\\d [\\d:]+Z\\); nothing changed\\.$`));
    const after = (await api.get(`/api/incidents/${alert.incidentId}`)).body;
    expect(after.timeline.filter((e: any) => e.type === "resolved")).toHaveLength(1);

    await delivered(alert.incidentId, "resolve");
    const shown = await cli(["incidents", "show", alert.incidentId]);
    const timeline = shown.stdout.slice(shown.stdout.indexOf("Timeline"));
    expect(timeline).toMatch(/opened: the alert fired/);
    expect(timeline).toMatch(/ticket INC\d+ created in default/);
    expect(timeline).toMatch(/resolved by \S+ in secure-export: first/);
    expect(timeline).toMatch(/ticket INC\d+ resolved in default/);
  });
});

describe("acknowledge and comment reach the ticket", () => {
  it("incidents ack and incidents comment go to the timeline and, as work notes, to the ServiceNow ticket", async () => {
    const alert = await sent();
    const opened = await delivered(alert.incidentId, "open");
    const ack = await cli(["incidents", "ack", alert.incidentId, "--note", "on it"]);
    expect(ack.code).toBe(0);
    expect(ack.stdout).toContain(`Acknowledged ${alert.incidentId} (${alert.title}).`);
    const comment = await cli(["incidents", "comment", alert.incidentId, "the disk filled up"]);
    expect(comment.code).toBe(0);
    const sysId = opened.deliveries.find((d: any) => d.connector === "default").externalId;
    await eventually(() => stack.itsm!.serviceNow.workNotes(sysId).length >= 2, "two work notes");
    expect(stack.itsm!.serviceNow.workNotes(sysId)).toEqual([expect.stringContaining("on it"), expect.stringContaining("the disk filled up")]);
    const missing = await cli(["incidents", "comment", alert.incidentId]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("incidents comment needs the text");
  });
});

describe("deliveries and CIs", () => {
  it("lists a dead letter with --status dead and replays it with deliveries retry", async () => {
    // A 400 is permanent for the connector: the delivery is dead-lettered at once.
    stack.itsm!.serviceNow.fail(1, 400);
    const alert = await sent();
    const dead = await eventually(async () => {
      const { body } = await api.get(`/api/deliveries?status=dead&incidentId=${alert.incidentId}`);
      return body.items[0];
    }, "a dead letter");

    const list = await cli(["deliveries", "list", "--status", "dead"]);
    expect(list.code).toBe(0);
    const row = list.stdout.split("\n").find((line) => line.startsWith(`${dead.id} `));
    expect(row).toMatch(new RegExp(`^${dead.id}\\s+${alert.incidentId}\\s+default\\s+open\\s+dead\\s+-\\s+1\\s+.*400`));

    const retry = await cli(["deliveries", "retry", dead.id]);
    expect(retry.code).toBe(0);
    expect(retry.stdout).toContain(`Delivery ${dead.id} (default open) is pending again`);
    await delivered(alert.incidentId, "open");
    const again = await cli(["deliveries", "retry", dead.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`delivery ${dead.id} is delivered; only dead-lettered deliveries are replayed`);
  });

  it("lists unbound CIs with cis list --unbound", async () => {
    const alert = await sent({ unboundCi: `orphan-${Date.now()}` });
    const unbound = await cli(["cis", "list", "--unbound"]);
    expect(unbound.code).toBe(0);
    expect(unbound.stdout).toMatch(new RegExp(`${alert.payload.data.essentials.configurationItems[1]}\\s+1\\s+\\S+ \\S+\\s+\\(unbound\\)`));
    expect(unbound.stdout).not.toContain(alert.payload.data.essentials.configurationItems[0]);
    const all = await cli(["cis", "list", "--json", "--limit", "500"]);
    expect(JSON.parse(all.stdout).map((c: any) => c.name)).toContain(alert.payload.data.essentials.configurationItems[0]);
  });
});

describe("errors say what to do", () => {
  it("no receiver: names the URL and how to start or find one", async () => {
    const result = await cli(["incidents", "list"], { RECEIVER_URL: "http://127.0.0.1:9" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("secure-export: no receiver at http://127.0.0.1:9");
    expect(result.stderr).toContain("Start the local stack with `npm start`, or point at yours with --receiver URL (or RECEIVER_URL).");
  });

  it("403 without the reader role: names the role, the stack's readers list and the az command", async () => {
    const token = await stack.issuer.mint({ callerId: LOCAL_APP_CLIENT_ID, roles: [] });
    const result = await cli(["incidents", "list"], { SECURE_EXPORT_TOKEN: token });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("you lack the role Incidents.Read, which GET /api/incidents needs.");
    expect(result.stderr).toContain("`secure-export:readers` list and run `pulumi up`");
    expect(result.stderr).toContain(`az account get-access-token --scope ${LOCAL_APP_ID_URI}/user_impersonation`);
  });

  it("403 for a reader who resolves: names the operator role and the operators list", async () => {
    const alert = await sent();
    const token = await stack.issuer.mint({ callerId: LOCAL_APP_CLIENT_ID, roles: ["Incidents.Read"] });
    const result = await cli(["incidents", "resolve", alert.incidentId], { SECURE_EXPORT_TOKEN: token });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`you lack the role Incidents.Operate, which POST /api/incidents/${alert.incidentId}/resolve needs.`);
    expect(result.stderr).toContain("`secure-export:operators` list");
    expect((await api.get(`/api/incidents/${alert.incidentId}`)).body.state).toBe("open");
  });

  it("401: says the token was refused and why", async () => {
    const expired = await cli(["incidents", "list"], { SECURE_EXPORT_TOKEN: await stack.issuer.mint({ callerId: LOCAL_APP_CLIENT_ID, expiresIn: -600 }) });
    expect(expired.code).toBe(1);
    expect(expired.stderr).toMatch(/the receiver refused the token \(401: .*exp/);
    const wrongIssuer = await cli(["incidents", "list", "--issuer", "http://127.0.0.1:9"]);
    expect(wrongIssuer.code).toBe(1);
    expect(wrongIssuer.stderr).toContain("the local token issuer at http://127.0.0.1:9 is not reachable");
  });
});

describe("tokens from the Azure CLI", () => {
  // The contract: @azure/identity's AzureCliCredential runs
  // `az account get-access-token --output json --resource <scope minus /.default> [--tenant T]`
  // and reads `accessToken` and `expires_on` (epoch seconds) from its JSON
  // (node_modules/@azure/identity/dist/esm/credentials/azureCliCredential.js).
  async function fakeAz(behaviour: { token?: string; stderr?: string }): Promise<{ dir: string; calls: () => Promise<string[][]> }> {
    const bin = await mkdtemp(join(dir, "az-"));
    const log = join(bin, "calls.jsonl");
    const answer = behaviour.token
      ? `console.log(JSON.stringify({ accessToken: ${JSON.stringify(behaviour.token)}, expiresOn: "2099-01-01 00:00:00.000000", expires_on: 4070908800, tokenType: "Bearer" }));`
      : `console.error(${JSON.stringify(behaviour.stderr ?? "")}); process.exit(1);`;
    await writeFile(join(bin, "az"), `#!${process.execPath}\nrequire("node:fs").appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + "\\n");\n${answer}\n`);
    await chmod(join(bin, "az"), 0o755);
    return { dir: bin, calls: async () => (await readFile(log, "utf8")).trim().split("\n").map((l) => JSON.parse(l)) };
  }

  it("asks az for a token for the App ID URI in the receiver's tenant, and uses it", async () => {
    const alert = await sent();
    const userToken = await stack.issuer.mint({ callerId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", roles: ["Incidents.Read"], objectId: LOCAL_USERS[1]!.objectId });
    const az = await fakeAz({ token: userToken });
    const result = await cli(["incidents", "show", alert.incidentId, "--auth", "azure-cli"], { PATH: `${az.dir}:${process.env.PATH}` });
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain(alert.title);
    expect(await az.calls()).toEqual([["account", "get-access-token", "--output", "json", "--resource", LOCAL_APP_ID_URI, "--tenant", stack.config.auth.tenantId]]);
  });

  it("without an Azure CLI login and no terminal: says to run az login for the tenant, or use a device code", async () => {
    const az = await fakeAz({ stderr: "ERROR: Please run 'az login' to setup account." });
    const result = await cli(["incidents", "list", "--auth", "azure-cli"], { PATH: `${az.dir}:${process.env.PATH}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`sign in with \`az login --tenant ${stack.config.auth.tenantId}\`, or run with --auth device-code`);
  });
});

describe("routing explain", () => {
  // The lead's routing engine answers POST /api/routing/explain with the alert as its body:
  // { "admitted": boolean, "explanation": string[], ... }. Until it lands, a stub stands in for it.
  async function stubReceiver(answer: { status: number; body: unknown }) {
    const received: Array<{ audience: unknown; body: string }> = [];
    const app = Fastify();
    app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => done(null, body));
    app.get("/console/config.json", async () => consoleConfig(stack.config.auth));
    app.post("/api/routing/explain", async (request, reply) => {
      received.push({ audience: decodeJwt(String(request.headers.authorization).replace(/^Bearer /, "")).aud, body: String(request.body) });
      return reply.code(answer.status).send(answer.body);
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    return { url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`, received, close: () => app.close() };
  }

  it("posts the alert file as it is and prints the verdict and each reason, or the JSON", async () => {
    const explanation = { admitted: false, explanation: ["rule prod-only: subscription aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e is not in its list", "no rule admitted the alert"], matchedRule: null };
    const stub = await stubReceiver({ status: 200, body: explanation });
    try {
      const alert = await writeAlert(dir);
      const human = await cli(["routing", "explain", alert.file], { RECEIVER_URL: stub.url });
      expect(human.code).toBe(0);
      expect(human.stdout).toBe(`not admitted\n  ${explanation.explanation[0]}\n  ${explanation.explanation[1]}\n`);
      expect(stub.received[0]).toEqual({ audience: LOCAL_APP_ID_URI, body: await readFile(alert.file, "utf8") });
      const json = await cli(["routing", "explain", alert.file, "--json"], { RECEIVER_URL: stub.url });
      expect(JSON.parse(json.stdout)).toEqual(explanation);
    } finally {
      await stub.close();
    }
  });

  it("says so when the receiver has no routing endpoint, and refuses a file that is not JSON", async () => {
    const stub = await stubReceiver({ status: 404, body: { error: "not_found", message: "POST /api/routing/explain not found" } });
    try {
      const alert = await writeAlert(dir);
      const old = await cli(["routing", "explain", alert.file], { RECEIVER_URL: stub.url });
      expect(old.code).toBe(1);
      expect(old.stderr).toContain("this receiver has no routing rules endpoint (POST /api/routing/explain answered 404)");
      const notJson = join(dir, "not-json.json");
      await writeFile(notJson, "{ nope");
      const refused = await cli(["routing", "explain", notJson], { RECEIVER_URL: stub.url });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`${notJson} is not JSON`);
      expect(stub.received).toHaveLength(1);
    } finally {
      await stub.close();
    }
  });
});
