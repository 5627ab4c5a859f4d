/**
 * `npm start`: the receiver on the embedded store, trusting a local token issuer on loopback
 * through its normal configuration. For trying secure export on one machine.
 */
import { loadConfig } from "../src/config.ts";
import { startReceiver } from "../src/receiver.ts";
import { DEFAULT_ISSUER_PORT, DEFAULT_RECEIVER_PORT, LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_TENANT_ID } from "./local-identity.ts";
import { startLocalIssuer } from "./local-issuer.ts";

const issuer = await startLocalIssuer({ port: Number(process.env.ISSUER_PORT ?? DEFAULT_ISSUER_PORT) });

const config = loadConfig({
  PORT: String(DEFAULT_RECEIVER_PORT),
  HOST: "127.0.0.1",
  ...process.env,
  ENTRA_TENANT_ID: LOCAL_TENANT_ID,
  ENTRA_AUDIENCES: `${LOCAL_APP_ID_URI},${LOCAL_APP_CLIENT_ID}`,
  ENTRA_AUTHORITY: issuer.url,
});
const receiver = await startReceiver(config, {
  logger: { level: config.logLevel, redact: ["req.headers.authorization"] },
});

const store = config.databaseUrl ? "PostgreSQL (DATABASE_URL)" : `embedded, in ${config.dataDir}/pglite`;
console.log(`
secure-export local stack
  receiver      ${receiver.url}  (store: ${store})
  token issuer  ${issuer.url}/${LOCAL_TENANT_ID}  (tenant ${LOCAL_TENANT_ID}, audience ${LOCAL_APP_ID_URI})

Send an alert (in another terminal):
  npm run send-alert -- test/fixtures/azure-monitor/metric-static-fired.json
  npm run send-alert -- test/fixtures/azure-monitor/metric-static-fired.json --resolve

Stop with Ctrl+C.
`);

async function shutdown(): Promise<void> {
  await receiver.close();
  await issuer.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
