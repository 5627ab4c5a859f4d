/**
 * The local stack as a function: the local token issuer, optionally stand-ins of ServiceNow and
 * BMC Helix, and the receiver wired to them through its normal configuration. `npm start` runs it;
 * tests start it in-process to drive the stand-ins' faults.
 */
import { loadConfig, type ReceiverConfig } from "../src/config.ts";
import { startReceiver, type RunningReceiver, type StartOptions } from "../src/receiver.ts";
import type { BmcHelixFake } from "../../test/fakes/bmc-helix-fake.ts";
import type { ServiceNowFake } from "../../test/fakes/servicenow-fake.ts";
import { DEFAULT_ISSUER_PORT, DEFAULT_RECEIVER_PORT, LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_TENANT_ID, LOCAL_USERS } from "./local-identity.ts";
import { startLocalIssuer, type LocalIssuer } from "./local-issuer.ts";

export interface LocalStackOptions {
  /** The environment the receiver's configuration is read from (PORT, DATA_DIR, LOG_LEVEL, …). */
  env: Record<string, string | undefined>;
  /** Also start ServiceNow and BMC Helix stand-ins and point the receiver's connectors at them. */
  withItsm?: boolean;
  /** pino options for the receiver's log (unset: silent). */
  logger?: StartOptions["logger"];
}

export interface LocalStack {
  issuer: LocalIssuer;
  receiver: RunningReceiver;
  config: ReceiverConfig;
  itsm: { serviceNow: ServiceNowFake; bmcHelix: BmcHelixFake } | null;
  close(): Promise<void>;
}

async function startItsmStandIns() {
  // The stand-ins live with the tests; they are loaded only when asked for, from a repository checkout.
  const [{ startServiceNowFake }, { startBmcHelixFake }] = await Promise.all([import("../../test/fakes/servicenow-fake.ts"), import("../../test/fakes/bmc-helix-fake.ts")]);
  const [serviceNow, bmcHelix] = await Promise.all([startServiceNowFake(), startBmcHelixFake()]);
  return { serviceNow, bmcHelix };
}

function connectorEnv(itsm: NonNullable<LocalStack["itsm"]>): Record<string, string> {
  return {
    SERVICENOW_URL: itsm.serviceNow.url,
    SERVICENOW_USERNAME: itsm.serviceNow.username,
    SERVICENOW_PASSWORD: itsm.serviceNow.password,
    BMC_HELIX_URL: itsm.bmcHelix.url,
    BMC_HELIX_USERNAME: itsm.bmcHelix.username,
    BMC_HELIX_PASSWORD: itsm.bmcHelix.password,
    BMC_HELIX_FIRST_NAME: "Azure",
    BMC_HELIX_LAST_NAME: "Monitor",
  };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { env } = options;
  const issuer = await startLocalIssuer({ port: Number(env.ISSUER_PORT ?? DEFAULT_ISSUER_PORT) });
  let itsm: LocalStack["itsm"] = null;
  try {
    itsm = options.withItsm ? await startItsmStandIns() : null;
    const config = loadConfig({
      PORT: String(DEFAULT_RECEIVER_PORT),
      HOST: "127.0.0.1",
      ...env,
      ENTRA_TENANT_ID: LOCAL_TENANT_ID,
      ENTRA_AUDIENCES: `${LOCAL_APP_ID_URI},${LOCAL_APP_CLIENT_ID}`,
      ENTRA_AUTHORITY: issuer.url,
      ENTRA_CLIENT_ID: LOCAL_APP_CLIENT_ID,
      // There is no Azure Resource Manager on one machine: no alert write-back or reconciliation unless asked.
      AZURE_ALERT_SYNC: env.AZURE_ALERT_SYNC ?? "off",
      RECONCILE_INTERVAL: env.RECONCILE_INTERVAL ?? "off",
      ...(itsm ? connectorEnv(itsm) : {}),
    });
    const receiver = await startReceiver(config, options.logger ? { logger: options.logger } : {});
    // The banner promises a working stack: wait for the store (a first start creates it).
    await receiver.storeReady;
    return {
      issuer,
      receiver,
      config,
      itsm,
      async close() {
        await receiver.close();
        await Promise.all([issuer.close(), itsm?.serviceNow.close(), itsm?.bmcHelix.close()]);
      },
    };
  } catch (error) {
    await Promise.all([issuer.close(), itsm?.serviceNow.close(), itsm?.bmcHelix.close()]);
    throw error;
  }
}

/** The start-up banner: where everything listens and the exact commands to try, with the ports chosen. */
export function describeLocalStack(stack: LocalStack): string {
  const { receiver, issuer, config, itsm } = stack;
  const store = config.databaseUrl ? "PostgreSQL (DATABASE_URL)" : `embedded, in ${config.dataDir}/pglite`;
  const defaultReceiver = receiver.url === `http://127.0.0.1:${DEFAULT_RECEIVER_PORT}`;
  const defaultIssuer = issuer.url === `http://127.0.0.1:${DEFAULT_ISSUER_PORT}`;
  const sendFlags = `${defaultReceiver ? "" : ` --receiver ${receiver.url}`}${defaultIssuer ? "" : ` --issuer ${issuer.url}`}`;
  const cliFlags = defaultReceiver ? "" : ` --receiver ${receiver.url}`;
  const fixture = "test/fixtures/azure-monitor/metric-static-fired.json";
  const lines = [
    "",
    "secure-export local stack",
    `  receiver      ${receiver.url}  (store: ${store})`,
    `  web console   ${receiver.url}/console/  (sign in as ${LOCAL_USERS.map((u) => u.name).join(", ")})`,
    `  API docs      ${receiver.url}/docs`,
    `  token issuer  ${issuer.url}/${LOCAL_TENANT_ID}  (tenant ${LOCAL_TENANT_ID}, audience ${LOCAL_APP_ID_URI})`,
    ...(itsm
      ? [
          `  ServiceNow    ${itsm.serviceNow.url}  (stand-in; user ${itsm.serviceNow.username}, password ${itsm.serviceNow.password})`,
          `  BMC Helix     ${itsm.bmcHelix.url}  (stand-in; user ${itsm.bmcHelix.username}, password ${itsm.bmcHelix.password})`,
        ]
      : []),
    "",
    "Send an alert (in another terminal):",
    `  npm run send-alert -- ${fixture}${sendFlags}`,
    `  npm run send-alert -- ${fixture} --resolve${sendFlags}`,
    "",
    "See what the receiver holds:",
    `  npx secure-export incidents list${cliFlags}`,
    `  npx secure-export incidents show <id>${cliFlags}`,
    `  npx secure-export deliveries list --status dead${cliFlags}`,
    `  npx secure-export cis list --unbound${cliFlags}`,
    `  or open ${receiver.url}/console/ in a browser`,
    ...(itsm
      ? [
          "",
          "See the tickets in the stand-ins:",
          `  curl -s -u ${itsm.serviceNow.username}:${itsm.serviceNow.password} -H 'accept: application/json' ${itsm.serviceNow.url}/api/now/table/incident`,
          `  curl -s -H "authorization: AR-JWT $(curl -s -d username=${itsm.bmcHelix.username} -d password=${itsm.bmcHelix.password} ${itsm.bmcHelix.url}/api/jwt/login)" '${itsm.bmcHelix.url}/api/arsys/v1/entry/HPD:IncidentInterface'`,
        ]
      : ["", "Watch tickets being created in ServiceNow and BMC Helix stand-ins: npm start -- --with-itsm"]),
    "",
    "Stop with Ctrl+C.",
    "",
  ];
  return lines.join("\n");
}
