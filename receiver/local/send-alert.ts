/**
 * `npm run send-alert -- <payload.json> [--resolve]`: gets a token from the local issuer the way
 * Azure Monitor's AzNS service principal gets one from Entra, and posts the alert to the receiver.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { AZNS_WEBHOOK_CLIENT_ID } from "../src/contract.ts";
import { DEFAULT_ISSUER_PORT, DEFAULT_RECEIVER_PORT, LOCAL_APP_ID_URI, LOCAL_TENANT_ID } from "./local-identity.ts";

const usage = "usage: npm run send-alert -- <payload.json> [--resolve] [--receiver URL] [--issuer URL]";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    resolve: { type: "boolean", default: false },
    receiver: { type: "string", default: process.env.RECEIVER_URL ?? `http://127.0.0.1:${DEFAULT_RECEIVER_PORT}` },
    issuer: { type: "string", default: process.env.ISSUER_URL ?? `http://127.0.0.1:${DEFAULT_ISSUER_PORT}` },
  },
});
const file = positionals[0];
if (!file) {
  console.error(usage);
  process.exit(2);
}

/** A "Resolved" notification for the same alert, as Azure sends when a metric alert clears. */
export function asResolved(payload: { data: { essentials: Record<string, unknown> } }, at: Date): unknown {
  const copy = structuredClone(payload);
  copy.data.essentials.monitorCondition = "Resolved";
  copy.data.essentials.resolvedDateTime = at.toISOString();
  return copy;
}

async function fail(message: string): Promise<never> {
  console.error(`send-alert: ${message}`);
  process.exit(1);
}

const payload = JSON.parse(await readFile(file, "utf8"));
const body = values.resolve ? asResolved(payload, new Date()) : payload;

const tokenResponse = await fetch(`${values.issuer}/${LOCAL_TENANT_ID}/oauth2/v2.0/token`, {
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ grant_type: "client_credentials", client_id: AZNS_WEBHOOK_CLIENT_ID, scope: `${LOCAL_APP_ID_URI}/.default` }),
}).catch((error: Error) => fail(`token issuer at ${values.issuer} is not reachable (${error.message}); is \`npm start\` running?`));
if (!tokenResponse.ok) await fail(`token issuer answered ${tokenResponse.status}: ${await tokenResponse.text()}`);
const { access_token: token } = (await tokenResponse.json()) as { access_token: string };

const response = await fetch(`${values.receiver}/api/alerts`, {
  method: "POST",
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  body: JSON.stringify(body),
}).catch((error: Error) => fail(`receiver at ${values.receiver} is not reachable (${error.message})`));

console.log(`${response.status} ${response.statusText}`);
console.log(await response.text());
if (!response.ok) process.exit(1);
