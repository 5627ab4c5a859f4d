import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // Pulumi keeps runtime state on `global`, and the store tests create their own databases:
    // one process per file keeps both isolated.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
