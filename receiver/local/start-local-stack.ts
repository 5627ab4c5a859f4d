/**
 * The local stack as a function: the local token issuer, optionally stand-ins of ServiceNow and
 * BMC Helix, and the receiver wired to them through its normal configuration. `npm start` runs it;
 * tests start it in-process to drive the stand-ins' faults.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigErrors, loadConfig, type ReceiverConfig } from "../src/config.ts";
import { ConfigError, integer } from "../src/env.ts";
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
  /**
   * How long a store that fails to open is retried before the stack gives up with a StoreOpenError
   * (a wrong DATABASE_URL is a mistake to report, not an outage to wait out). Default 10 s.
   */
  storeGiveUpMs?: number;
}

/** Local default ports that were taken, so the stack took a free one instead. */
export interface PortFallbacks {
  receiver: number | null;
  issuer: number | null;
}

export interface LocalStack {
  issuer: LocalIssuer;
  receiver: RunningReceiver;
  config: ReceiverConfig;
  itsm: { serviceNow: ServiceNowFake; bmcHelix: BmcHelixFake } | null;
  /** Which default ports were in use (and replaced by free ones), for the banner. */
  fallbacks: PortFallbacks;
  close(): Promise<void>;
}

const DEFAULT_STORE_GIVE_UP_MS = 10_000;

/** Whether a port can be listened on now (a default port another program holds is replaced). */
function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/**
 * A default port, or any free port when another program holds the default. A port the user set is
 * used as set: if it is taken, start-up fails saying so.
 */
export async function defaultPort(port: number): Promise<{ port: number; replaced: number | null }> {
  return (await portIsFree(port, "127.0.0.1")) ? { port, replaced: null } : { port: 0, replaced: port };
}

function issuerPortSetting(env: LocalStackOptions["env"]): number | undefined {
  if (!env.ISSUER_PORT?.trim()) return undefined;
  try {
    return integer(env, "ISSUER_PORT", DEFAULT_ISSUER_PORT, 0, 65535);
  } catch (error) {
    throw error instanceof ConfigError ? new ConfigErrors([error]) : error;
  }
}

const SAMPLES = fileURLToPath(new URL("../../test/fixtures/azure-monitor/", import.meta.url));

/** The Azure resources the bundled samples fire on, as CMDB records keyed by ARM id the way ServiceNow's Azure discovery keys them. */
function sampleResources(): Array<{ name: string; object_id: string }> {
  const ids = new Set<string>();
  for (const file of readdirSync(SAMPLES).filter((f) => f.endsWith(".json"))) {
    const essentials = (JSON.parse(readFileSync(join(SAMPLES, file), "utf8")) as { data?: { essentials?: { alertTargetIDs?: unknown } } }).data?.essentials;
    for (const id of Array.isArray(essentials?.alertTargetIDs) ? essentials.alertTargetIDs : []) if (typeof id === "string" && id.startsWith("/subscriptions/")) ids.add(id.toLowerCase());
  }
  return [...ids].map((id) => ({ name: id.split("/").at(-1)!, object_id: id }));
}

/**
 * The stand-ins keep their tickets in DATA_DIR/itsm, so a restart neither forgets them nor reuses
 * their numbers, and the ServiceNow one knows the samples' resources, so a ticket is bound to its CI.
 */
async function startItsmStandIns(dataDir: string) {
  // The stand-ins live with the tests; they are loaded only when asked for, from a repository checkout.
  const [{ startServiceNowFake }, { startBmcHelixFake }] = await Promise.all([import("../../test/fakes/servicenow-fake.ts"), import("../../test/fakes/bmc-helix-fake.ts")]);
  const [serviceNow, bmcHelix] = await Promise.all([
    startServiceNowFake({ stateFile: join(dataDir, "itsm", "servicenow.json") }),
    startBmcHelixFake({ stateFile: join(dataDir, "itsm", "bmc-helix.json") }),
  ]);
  for (const ci of sampleResources()) serviceNow.addCi(ci);
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
  const issuerSetting = issuerPortSetting(env);
  const issuerPort = issuerSetting === undefined ? await defaultPort(DEFAULT_ISSUER_PORT) : { port: issuerSetting, replaced: null };
  const receiverPort = env.PORT?.trim() ? null : await defaultPort(DEFAULT_RECEIVER_PORT);
  const issuer = await startLocalIssuer({ port: issuerPort.port });
  let itsm: LocalStack["itsm"] = null;
  let receiver: RunningReceiver | null = null;
  try {
    // The receiver's own DATA_DIR (its default too): the stand-ins start first, since its configuration names their URLs.
    itsm = options.withItsm ? await startItsmStandIns(env.DATA_DIR?.trim() || ".data") : null;
    const config = loadConfig({
      HOST: "127.0.0.1",
      // A second receiver on one machine must not collide on 9464 (OpenTelemetry's default too):
      // locally, metrics take any free port unless METRICS_PORT says otherwise; the banner shows it.
      METRICS_PORT: "0",
      ...env,
      ...(receiverPort ? { PORT: String(receiverPort.port) } : {}),
      ENTRA_TENANT_ID: LOCAL_TENANT_ID,
      ENTRA_AUDIENCES: `${LOCAL_APP_ID_URI},${LOCAL_APP_CLIENT_ID}`,
      ENTRA_AUTHORITY: issuer.url,
      ENTRA_CLIENT_ID: LOCAL_APP_CLIENT_ID,
      // There is no Azure Resource Manager on one machine: no alert write-back or reconciliation unless asked.
      AZURE_ALERT_SYNC: env.AZURE_ALERT_SYNC ?? "off",
      RECONCILE_INTERVAL: env.RECONCILE_INTERVAL ?? "off",
      ...(itsm ? connectorEnv(itsm) : {}),
    });
    const running = await startReceiver(config, { storeGiveUpMs: options.storeGiveUpMs ?? DEFAULT_STORE_GIVE_UP_MS, ...(options.logger ? { logger: options.logger } : {}) });
    receiver = running;
    // The banner promises a working stack: wait for the store (a first start creates it).
    await running.storeReady;
    return {
      issuer,
      receiver: running,
      config,
      itsm,
      fallbacks: { receiver: receiverPort?.replaced ?? null, issuer: issuerPort.replaced },
      async close() {
        await running.close();
        await Promise.all([issuer.close(), itsm?.serviceNow.close(), itsm?.bmcHelix.close()]);
      },
    };
  } catch (error) {
    await receiver?.close();
    await Promise.all([issuer.close(), itsm?.serviceNow.close(), itsm?.bmcHelix.close()]);
    throw error;
  }
}

/** The start-up banner: where everything listens and the exact commands to try, with the ports chosen. */
export function describeLocalStack(stack: LocalStack): string {
  const { receiver, issuer, config, itsm, fallbacks } = stack;
  const store = config.databaseUrl ? "PostgreSQL (DATABASE_URL)" : `embedded, in ${config.dataDir}/pglite`;
  const taken = (port: number | null) => (port === null ? "" : `; ${port} was in use, so another was chosen`);
  const defaultReceiver = receiver.url === `http://127.0.0.1:${DEFAULT_RECEIVER_PORT}`;
  const defaultIssuer = issuer.url === `http://127.0.0.1:${DEFAULT_ISSUER_PORT}`;
  const sendFlags = `${defaultReceiver ? "" : ` --receiver ${receiver.url}`}${defaultIssuer ? "" : ` --issuer ${issuer.url}`}`;
  const cliFlags = defaultReceiver ? "" : ` --receiver ${receiver.url}`;
  const fixture = "test/fixtures/azure-monitor/metric-static-fired.json";
  const lines = [
    "",
    "secure-export local stack",
    `  receiver      ${receiver.url}  (store: ${store}${taken(fallbacks.receiver)})`,
    `  web console   ${receiver.url}/console/  (sign in as ${LOCAL_USERS.map((u) => u.name).join(", ")})`,
    `  API docs      ${receiver.url}/docs`,
    `  token issuer  ${issuer.url}/${LOCAL_TENANT_ID}  (tenant ${LOCAL_TENANT_ID}, audience ${LOCAL_APP_ID_URI}${taken(fallbacks.issuer)})`,
    `  metrics       ${receiver.metricsUrl}/metrics`,
    ...(itsm
      ? [
          `  ServiceNow    ${itsm.serviceNow.url}  (stand-in; user ${itsm.serviceNow.username}, password ${itsm.serviceNow.password})`,
          `  BMC Helix     ${itsm.bmcHelix.url}  (stand-in; user ${itsm.bmcHelix.username}, password ${itsm.bmcHelix.password})`,
        ]
      : []),
    "",
    "Send an alert (in another terminal); --new gives it a fresh alertId, so it opens a new incident",
    "(and ticket) every time, and the answer prints the command that resolves it:",
    `  npm run send-alert -- ${fixture} --new${sendFlags}`,
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
