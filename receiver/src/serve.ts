/** Production entry (what the container image runs): configured from the environment alone. */
import { ConfigError, loadConfig } from "./config.ts";
import { startReceiver } from "./receiver.ts";

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`secure-export receiver: configuration error: ${error.message}`);
  process.exit(2);
}

const receiver = await startReceiver(config, {
  logger: { level: config.logLevel, redact: ["req.headers.authorization"] },
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  receiver.app.log.info({ signal }, "shutting down");
  await receiver.close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
