/**
 * Production entry (what the container image runs): configured from the environment alone.
 * Whatever stops it from starting is one line naming the problem, never a stack trace (start-up.ts).
 */
import { loadConfig, type ReceiverConfig } from "./config.ts";
import { logDestination } from "./log-destination.ts";
import { startReceiver, type RunningReceiver } from "./receiver.ts";
import { exitOnStartUpFailure } from "./start-up.ts";

let config: ReceiverConfig;
try {
  config = loadConfig();
} catch (error) {
  exitOnStartUpFailure(error);
}

let receiver: RunningReceiver;
try {
  receiver = await startReceiver(config, {
    logger: { level: config.logLevel, redact: ["req.headers.authorization"], ...(await logDestination()) },
  });
} catch (error) {
  exitOnStartUpFailure(error, [
    { variable: "PORT", port: config.port },
    { variable: "METRICS_PORT", port: config.metricsPort },
  ]);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  receiver.app.log.info({ signal }, "shutting down: finishing requests in flight");
  await receiver.close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
