/** The local stack's ports: a default one another program holds is replaced by a free one, and the banner says so. */
import { createServer } from "node:net";
import { expect, it } from "vitest";
import { defaultPort, describeLocalStack, type LocalStack } from "../../../receiver/local/start-local-stack.ts";

it("keeps a free default port, and replaces a taken one by any free port", async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const taken = (blocker.address() as { port: number }).port;
  try {
    expect(await defaultPort(taken)).toEqual({ port: 0, replaced: taken });
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
  expect(await defaultPort(taken)).toEqual({ port: taken, replaced: null });
});

it("names in the banner each default port that was taken, next to the one chosen instead, and the metrics URL", () => {
  const stack = {
    receiver: { url: "http://127.0.0.1:41000", metricsUrl: "http://127.0.0.1:41002" },
    issuer: { url: "http://127.0.0.1:41001" },
    config: { databaseUrl: undefined, dataDir: ".data" },
    itsm: null,
    fallbacks: { receiver: 8080, issuer: 8079 },
  } as unknown as LocalStack;
  const banner = describeLocalStack(stack);
  expect(banner).toMatch(/receiver\s+http:\/\/127\.0\.0\.1:41000 .*8080 was in use, so another was chosen/);
  expect(banner).toMatch(/token issuer\s+http:\/\/127\.0\.0\.1:41001\/.*8079 was in use, so another was chosen/);
  expect(banner).toMatch(/metrics\s+http:\/\/127\.0\.0\.1:41002\/metrics/);
  // The commands to copy name the ports chosen.
  expect(banner).toContain("--receiver http://127.0.0.1:41000 --issuer http://127.0.0.1:41001");
});
