/**
 * `npm start [-- --with-itsm]`: the receiver on the embedded store, trusting a local token issuer on
 * loopback through its normal configuration; with --with-itsm also ServiceNow and BMC Helix
 * stand-ins that the connectors deliver to. For trying secure export on one machine.
 */
import { parseArgs } from "node:util";
import { logDestination } from "../src/log-destination.ts";
import { exitOnStartUpFailure, type Listener } from "../src/start-up.ts";
import { describeLocalStack, startLocalStack, type LocalStack } from "./start-local-stack.ts";

const usage = `usage: npm start [-- --with-itsm]

  --with-itsm   also start stand-ins of ServiceNow and BMC Helix on loopback, and deliver
                incidents to them (watch tickets open and resolve without an instance of your own)

Ports (all on 127.0.0.1; the banner prints the ones chosen):
  PORT          the receiver, its console and /docs (default 8080)
  ISSUER_PORT   the local token issuer (default 8079)
  METRICS_PORT  Prometheus metrics (default: any free port)
  A default port another program holds is replaced by a free one; a port you set must be free.

Environment: DATA_DIR (.data), DATABASE_URL (PostgreSQL instead of the embedded store), LOG_LEVEL,
and every receiver variable in docs/configuration.md.`;

let values: { "with-itsm"?: boolean; help?: boolean };
try {
  ({ values } = parseArgs({ options: { "with-itsm": { type: "boolean" }, help: { type: "boolean", short: "h" } } }));
} catch (error) {
  console.error(`${(error as Error).message}\n\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}

/** The ports the user chose, to name the variable when one of them is taken. */
const listeners: Listener[] = ["PORT", "ISSUER_PORT", "METRICS_PORT"].flatMap((variable) =>
  process.env[variable]?.trim() ? [{ variable, port: Number(process.env[variable]) }] : [],
);

let stack: LocalStack;
try {
  stack = await startLocalStack({
    env: process.env,
    withItsm: values["with-itsm"] ?? false,
    logger: { level: process.env.LOG_LEVEL ?? "info", redact: ["req.headers.authorization"], ...(await logDestination()) },
  });
} catch (error) {
  // The same one line `npm run serve` prints for the same problem (src/start-up.ts).
  exitOnStartUpFailure(error, listeners);
}
console.log(describeLocalStack(stack));

async function shutdown(): Promise<void> {
  await stack.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
