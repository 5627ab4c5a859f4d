/**
 * `npm run send-alert -- <payload.json> [--new] [--resolve]`: gets a token from the local issuer the
 * way Azure Monitor's AzNS service principal gets one from Entra, and posts the alert to the receiver.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { AZNS_WEBHOOK_CLIENT_ID } from "../src/contract.ts";
import { DEFAULT_ISSUER_PORT, DEFAULT_RECEIVER_PORT, LOCAL_APP_ID_URI, LOCAL_TENANT_ID } from "./local-identity.ts";
import { asNewAlert, asResolved, withAlertId, type AlertPayload } from "./sample-alerts.ts";

const usage = `usage: npm run send-alert -- <payload.json> [--new] [--resolve] [--alert-id ID] [--receiver URL] [--issuer URL]

Posts an Azure Monitor common-alert-schema payload to the receiver, with a token from the local issuer.

  --new           send it as a new alert: a fresh alertId and firedDateTime (the receiver keeps one
                  incident per alertId, so a sample sent again is a duplicate and changes nothing)
  --resolve       send the matching "Resolved" notification instead
  --alert-id ID   send it under this alertId (a full ARM id, or the last part of the sample's), e.g.
                  to resolve an alert sent with --new
  --receiver URL  the receiver (RECEIVER_URL; default http://127.0.0.1:${DEFAULT_RECEIVER_PORT})
  --issuer URL    the local token issuer (ISSUER_URL; default http://127.0.0.1:${DEFAULT_ISSUER_PORT})
  -h, --help      show this help

Samples: test/fixtures/azure-monitor/*-fired.json`;

function fail(message: string, code = 1): never {
  console.error(`send-alert: ${message}`);
  process.exit(code);
}

let values: { new?: boolean; resolve?: boolean; "alert-id"?: string; receiver?: string; issuer?: string; help?: boolean };
let positionals: string[];
try {
  ({ values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      new: { type: "boolean" },
      resolve: { type: "boolean" },
      "alert-id": { type: "string" },
      receiver: { type: "string" },
      issuer: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  fail(`${(error as Error).message.split("\n")[0]}\n\n${usage}`, 2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const file = positionals[0];
if (!file || positionals.length > 1) fail(file ? `unexpected argument "${positionals[1]}"\n\n${usage}` : usage, 2);
if (values.new && values["alert-id"]) fail("--new and --alert-id both choose the alertId; give one of them", 2);
if (values.new && values.resolve) fail("--new --resolve would resolve an alert that never fired; send it with --new, then resolve it with the --alert-id it prints", 2);
const receiver = values.receiver ?? process.env.RECEIVER_URL ?? `http://127.0.0.1:${DEFAULT_RECEIVER_PORT}`;
const issuer = values.issuer ?? process.env.ISSUER_URL ?? `http://127.0.0.1:${DEFAULT_ISSUER_PORT}`;

let payload: AlertPayload;
try {
  payload = JSON.parse(await readFile(file, "utf8")) as AlertPayload;
} catch (error) {
  fail(`cannot read ${file}: ${(error as Error).message}`, 2);
}
if (typeof payload?.data?.essentials?.alertId !== "string") fail(`${file} is not a common-alert-schema payload (no data.essentials.alertId)`, 2);

const now = new Date();
let body = payload;
if (values.new) body = asNewAlert(body, now);
if (values["alert-id"]) body = withAlertId(body, values["alert-id"]);
if (values.resolve) body = asResolved(body, now);

const tokenResponse = await fetch(`${issuer}/${LOCAL_TENANT_ID}/oauth2/v2.0/token`, {
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ grant_type: "client_credentials", client_id: AZNS_WEBHOOK_CLIENT_ID, scope: `${LOCAL_APP_ID_URI}/.default` }),
}).catch((error: Error) => fail(`token issuer at ${issuer} is not reachable (${error.message}); is \`npm start\` running?`));
if (!tokenResponse.ok) fail(`token issuer answered ${tokenResponse.status}: ${await tokenResponse.text()}`);
const { access_token: token } = (await tokenResponse.json()) as { access_token: string };

const response = await fetch(`${receiver}/api/alerts`, {
  method: "POST",
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  body: JSON.stringify(body),
}).catch((error: Error) => fail(`receiver at ${receiver} is not reachable (${error.message})`));

const text = await response.text();
console.log(`${response.status} ${response.statusText}`);
console.log(text);
if (!response.ok) process.exit(1);

const answer = JSON.parse(text) as { duplicate?: boolean; incidentId?: string };
const alertId = body.data.essentials.alertId;
if (answer.duplicate) {
  console.log(
    values.resolve
      ? `\nAlready received: the receiver had this resolution of alert ${alertId}, so nothing changed.`
      : `\nAlready received: the receiver had this notification of alert ${alertId}, so nothing changed (no new incident, no ticket). Add --new to send it as a new alert.`,
  );
} else if (values.new) {
  const flags = process.argv.slice(2).filter((arg) => arg !== "--new").join(" ");
  console.log(`\nSent as a new alert: ${alertId}\nResolve it with: npm run send-alert -- ${flags} --resolve --alert-id ${alertId.split("/").at(-1)}`);
}
