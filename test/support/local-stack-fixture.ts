/**
 * The local stack as `npm start -- --with-itsm` runs it (receiver, local issuer, ServiceNow and BMC
 * Helix stand-ins), on a throwaway PostgreSQL database, for the suites that drive it from outside
 * (the CLI, the web console).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalStack, type LocalStack } from "../../receiver/local/start-local-stack.ts";
import { operatorClient } from "./api.ts";
import { createTestDatabase } from "./postgres.ts";

// One outbox loop polling every 100 ms: deliveries show promptly, and a failed one is retried within a second.
const FAST_OUTBOX = { OUTBOX_POLL_MS: "100", OUTBOX_CONCURRENCY: "1", OUTBOX_RETRY_BASE_SECONDS: "0", OUTBOX_RETRY_MAX_SECONDS: "1", OUTBOX_MAX_AGE_SECONDS: "600" };

export interface LocalStackFixture {
  /** A scratch directory for the suite's files, removed by close(). */
  dir: string;
  stack: LocalStack;
  /** The read and operator API as the local operator. */
  api: ReturnType<typeof operatorClient>;
  close(): Promise<void>;
}

export async function startLocalStackFixture(name: string): Promise<LocalStackFixture> {
  const dir = await mkdtemp(join(tmpdir(), `secure-export-${name}-`));
  // PostgreSQL rather than the embedded store: the same API, and a much cheaper start on a busy machine.
  const database = await createTestDatabase();
  // DATA_DIR: the stand-ins keep their tickets there.
  const stack = await startLocalStack({ env: { PORT: "0", ISSUER_PORT: "0", METRICS_PORT: "0", DATA_DIR: dir, DATABASE_URL: database.url, ...FAST_OUTBOX }, withItsm: true });
  return {
    dir,
    stack,
    api: operatorClient(stack.issuer, stack.receiver.url),
    async close() {
      await stack.close();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
