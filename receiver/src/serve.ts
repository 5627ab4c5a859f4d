/**
 * Production entry (what the container image runs): configured from the environment alone.
 * Whatever stops it from starting is one line naming the problem, never a stack trace.
 */
import { ConfigErrors, loadConfig, type ReceiverConfig } from "./config.ts";
import { logDestination } from "./log-destination.ts";
import { startReceiver, type RunningReceiver } from "./receiver.ts";
import { DataDirLockedError } from "./store/data-dir-lock.ts";

function fail(message: string, code = 2): never {
  console.error(`secure-export receiver: ${message}`);
  process.exit(code);
}

let config: ReceiverConfig;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigErrors) fail(`configuration ${error.errors.length > 1 ? "errors" : "error"}: ${error.message}`);
  throw error;
}

let receiver: RunningReceiver;
try {
  receiver = await startReceiver(config, {
    logger: { level: config.logLevel, redact: ["req.headers.authorization"], ...(await logDestination()) },
  });
} catch (error) {
  if (error instanceof DataDirLockedError) fail(error.message);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") fail(`port ${(error as { port?: number }).port ?? config.port} on ${config.host} is already in use by another program; stop it or choose another PORT / METRICS_PORT`);
  if (code === "EACCES") fail(`no permission to listen on port ${config.port}; choose a PORT above 1023`);
  fail(`could not start: ${(error as Error).message}`, 1);
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
