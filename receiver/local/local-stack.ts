/**
 * `npm start [-- --with-itsm]`: the receiver on the embedded store, trusting a local token issuer on
 * loopback through its normal configuration; with --with-itsm also ServiceNow and BMC Helix
 * stand-ins that the connectors deliver to. For trying secure export on one machine.
 */
import { parseArgs } from "node:util";
import { logDestination } from "../src/log-destination.ts";
import { describeLocalStack, startLocalStack } from "./start-local-stack.ts";

const usage = `usage: npm start [-- --with-itsm]

  --with-itsm   also start stand-ins of ServiceNow and BMC Helix on loopback, and deliver
                incidents to them (watch tickets open and resolve without an instance of your own)

Environment: PORT (8080), ISSUER_PORT (8079), DATA_DIR (.data), DATABASE_URL, LOG_LEVEL, and every
receiver variable in docs/configuration.md.`;

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

const stack = await startLocalStack({
  env: process.env,
  withItsm: values["with-itsm"] ?? false,
  logger: { level: process.env.LOG_LEVEL ?? "info", redact: ["req.headers.authorization"], ...(await logDestination()) },
});
console.log(describeLocalStack(stack));

async function shutdown(): Promise<void> {
  await stack.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
