/**
 * Adding an ITSM tool is one folder and one entry in connectors/kinds.ts — and nothing else. The
 * test does exactly that to a copy of the receiver: it writes a minimal tool (`acme-desk`) into
 * connectors/acme-desk/, adds it to the list, and then runs the copy as a user would: configured by
 * variables (ACME_DESK_*) and by the routing rules (a second instance with a route's `set`), checked
 * by the Pulumi preview's entry (routing/check.ts), and fed a real alert with a real token, until
 * both instances have opened a ticket in a stand-in of the tool. It also holds the other half of
 * the claim: outside the tools' folders and the list, no code names a tool.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CONNECTOR_KINDS } from "../../../receiver/src/connectors/kinds.ts";
import { REPO_ROOT } from "../../support/paths.ts";

const TOOL = {
  "fields.ts": `import type { FieldProfile } from "../kind.ts";
export const PROFILE: FieldProfile = { id: "acme-desk", label: "Acme Desk", fields: { team: { apiField: "team" }, priority: { apiField: "priority", choices: ["P1", "P2", "P3"] } } };
`,
  "settings.ts": `import type { ConfigOf } from "../kind.ts";
import { severityMap, text, url } from "../settings.ts";
export const SETTINGS = {
  url: url({ required: true, doc: "Acme Desk's base URL" }),
  queue: text({ default: "ops", doc: "queue tickets go to" }),
  priorityBySeverity: severityMap(["P1", "P2", "P3"], { variable: "PRIORITY_MAP", default: { Sev0: "P1", Sev1: "P1", Sev2: "P2", Sev3: "P3", Sev4: "P3", none: "P3" }, doc: "severity → priority" }),
};
export const CREDENTIALS = { oauth: false, basicDoc: "basic auth" } as const;
export type AcmeDeskConfig = ConfigOf<"acme-desk", typeof SETTINGS, typeof CREDENTIALS>;
`,
  "client.ts": `import type { Connector, DeliveryJob, ExternalLink } from "../../outbox/delivery.ts";
import { failure, httpRequest, parseJson } from "../http-client.ts";
import type { AcmeDeskConfig } from "./settings.ts";
export class AcmeDeskConnector implements Connector {
  readonly name: string;
  private readonly config: AcmeDeskConfig;
  constructor(name: string, config: AcmeDeskConfig) {
    this.name = name;
    this.config = config;
  }
  async check() { return { ok: true, detail: "not checked" }; }
  async deliver(job: DeliveryJob): Promise<ExternalLink> {
    const auth = "Basic " + Buffer.from(this.config.auth.username + ":" + this.config.auth.password).toString("base64");
    const body = { queue: this.config.queue, title: job.snapshot.title, action: job.action, priority: this.config.priorityBySeverity[job.snapshot.severity ?? "none"], ...job.snapshot.fields };
    const response = await httpRequest(this.config.url + "/tickets", { method: "POST", headers: { authorization: auth, "content-type": "application/json" }, body: JSON.stringify(body) });
    if (response.status !== 201) throw failure("Acme Desk", response);
    const { id } = parseJson<{ id: string }>("Acme Desk", response);
    return { externalId: id, externalNumber: id };
  }
}
`,
  "index.ts": `import { defineKind } from "../kind.ts";
import { AcmeDeskConnector } from "./client.ts";
import { PROFILE } from "./fields.ts";
import { CREDENTIALS, SETTINGS } from "./settings.ts";
export const acmeDesk = defineKind({
  id: "acme-desk", label: "Acme Desk", prefix: "ACME_DESK_", credentials: CREDENTIALS, settings: SETTINGS,
  profiles: [PROFILE], profileOf: () => PROFILE, create: (name, config) => new AcmeDeskConnector(name, config),
});
`,
};

/** Runs in the copy: a stand-in of the tool, the local issuer, the receiver, one alert. Prints what happened as JSON. */
const SCENARIO = `
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { loadConfig } from "./receiver/src/config.ts";
import { startReceiver } from "./receiver/src/receiver.ts";
import { openPglite } from "./receiver/src/store/pglite-database.ts";
import { migrate } from "./receiver/src/store/migrate.ts";
import { checkRules } from "./receiver/src/routing/check.ts";
import { startLocalIssuer } from "./receiver/local/local-issuer.ts";
import { LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_TENANT_ID } from "./receiver/local/local-identity.ts";

const tickets = [];
const tool = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    tickets.push({ path: req.url, authorization: req.headers.authorization, ...JSON.parse(body) });
    res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ id: "ACME-" + tickets.length }));
  });
});
await new Promise((r) => tool.listen(0, "127.0.0.1", r));
const toolUrl = "http://127.0.0.1:" + tool.address().port;
const rules = [
  "connectors:",
  "  acme-eu:",
  "    kind: acme-desk",
  "    url: " + toolUrl + "/eu",
  "    queue: eu-ops",
  "    priorityBySeverity: { Sev3: P2 }",
  "    auth: { username: eu, passwordEnv: ACME_EU_PASSWORD }",
  "routes:",
  "  - name: all",
  "    to: [default, acme-eu]",
  "    set: { team: blue, priority: P1 }",
].join("\\n");
const issuer = await startLocalIssuer({ port: 0 });
const config = loadConfig({
  PORT: "0", HOST: "127.0.0.1", METRICS_PORT: "0",
  ENTRA_TENANT_ID: LOCAL_TENANT_ID, ENTRA_AUDIENCES: LOCAL_APP_ID_URI + "," + LOCAL_APP_CLIENT_ID, ENTRA_AUTHORITY: issuer.url,
  ACME_DESK_URL: toolUrl, ACME_DESK_USERNAME: "svc", ACME_DESK_PASSWORD: "pw",
  ACME_EU_PASSWORD: "eu-pw", ROUTING_RULES: rules, OUTBOX_POLL_MS: "20",
});
let typo = null;
try { loadConfig({ ENTRA_TENANT_ID: LOCAL_TENANT_ID, ENTRA_AUDIENCES: "a", ACME_DESK_URLL: "x" }); } catch (error) { typo = error.message; }
const preview = checkRules(rules.replace("priority: P1", "priority: P9"), [{ kind: "acme-desk" }]).problems.map((p) => p.message);
const db = await openPglite(undefined);
await migrate(db);
const receiver = await startReceiver(config, { db, shutdownGraceMs: 100 });
const alert = JSON.parse(readFileSync("test/fixtures/azure-monitor/metric-static-fired.json", "utf8"));
const answer = await fetch(receiver.url + "/api/alerts", {
  method: "POST",
  headers: { "content-type": "application/json", authorization: "Bearer " + (await issuer.mint()) },
  body: JSON.stringify(alert),
});
const deadline = Date.now() + 20000;
while (tickets.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ status: answer.status, connectors: config.routing.connectors.map((c) => [c.name, c.origin, c.config.kind]), tickets, typo, preview }));
await receiver.close();
await issuer.close();
tool.close();
process.exit(0);
`;

const work = mkdtempSync(join(tmpdir(), "secure-export-new-tool-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("a new ITSM tool", () => {
  it("is one folder and one line in connectors/kinds.ts: configured, routed, checked and delivered to with nothing else changed", () => {
    cpSync(join(REPO_ROOT, "receiver/src"), join(work, "receiver/src"), { recursive: true });
    cpSync(join(REPO_ROOT, "receiver/local"), join(work, "receiver/local"), { recursive: true });
    cpSync(join(REPO_ROOT, "test/fixtures/azure-monitor"), join(work, "test/fixtures/azure-monitor"), { recursive: true });
    cpSync(join(REPO_ROOT, "package.json"), join(work, "package.json"));
    // The receiver reads its version from here (the image ships it too).
    cpSync(join(REPO_ROOT, "receiver/package.json"), join(work, "receiver/package.json"));
    symlinkSync(join(REPO_ROOT, "node_modules"), join(work, "node_modules"));
    const folder = join(work, "receiver/src/connectors/acme-desk");
    mkdirSync(folder);
    for (const [file, text] of Object.entries(TOOL)) writeFileSync(join(folder, file), text);
    const list = join(work, "receiver/src/connectors/kinds.ts");
    const before = readFileSync(list, "utf8");
    const after = before
      .replace(/^(import .* from "\.\/bmc-helix\/index\.ts";)$/m, '$1\nimport { acmeDesk } from "./acme-desk/index.ts";')
      .replace("[serviceNow, bmcHelix] as const", "[serviceNow, bmcHelix, acmeDesk] as const");
    expect(after.split("\n").length - before.split("\n").length).toBe(1);
    writeFileSync(list, after);
    writeFileSync(join(work, "scenario.ts"), SCENARIO);

    const run = spawnSync(process.execPath, ["scenario.ts"], { cwd: work, encoding: "utf8", timeout: 60_000 });
    expect(run.stderr).not.toMatch(/Error/);
    const outcome = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    expect(outcome.status).toBe(202);
    expect(outcome.connectors).toEqual([
      ["default", "environment", "acme-desk"],
      ["acme-eu", "rules", "acme-desk"],
    ]);
    const byPath = Object.fromEntries(outcome.tickets.map((t: { path: string }) => [t.path, t]));
    // The metric sample is Sev3: the environment's default map gives P3, the rules' partial map P2,
    // and the route's `set` wins over both, as it does for the built-in tools.
    expect(byPath["/tickets"]).toMatchObject({ queue: "ops", action: "open", team: "blue", priority: "P1", authorization: `Basic ${Buffer.from("svc:pw").toString("base64")}` });
    expect(byPath["/eu/tickets"]).toMatchObject({ queue: "eu-ops", action: "open", team: "blue", priority: "P1", authorization: `Basic ${Buffer.from("eu:eu-pw").toString("base64")}` });
    expect(outcome.typo).toContain("ACME_DESK_URLL is not a variable the receiver reads; did you mean ACME_DESK_URL?");
    expect(outcome.preview).toEqual(['must be one of "P1", "P2", "P3" for Acme Desk, got "P9"']);
  });
});

/** Source text without comments, so examples in prose do not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : [];
  });
}

describe("the list of tools", () => {
  it("is the only code outside the tools' own folders that names a tool", () => {
    const src = join(REPO_ROOT, "receiver/src");
    const own = new Set([...CONNECTOR_KINDS.map((k) => `connectors/${k.id}/`), "connectors/kinds.ts"]);
    const names = CONNECTOR_KINDS.flatMap((k) => [`"${k.id}"`, k.prefix, `/${k.id}/`]);
    const naming = sources(src)
      .map((file) => relative(src, file))
      .filter((file) => ![...own].some((prefix) => file.startsWith(prefix)))
      .flatMap((file) => names.filter((name) => code(readFileSync(join(src, file), "utf8")).includes(name)).map((name) => `${file}: ${name}`));
    expect(naming).toEqual([]);
  });
});
