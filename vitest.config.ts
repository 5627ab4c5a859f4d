import { globSync, readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

/**
 * Two projects. `unit`: decisions and programs that need no database, no server process and no
 * browser (`npm run test:unit`, seconds). `integration`: everything that opens a store, starts a
 * stack or spawns a process, or drives Chromium; it first checks that PostgreSQL answers.
 *
 * A test file is an integration test when it imports one of these fixtures, so a new test lands in
 * the right project by what it uses, not by a list someone must remember to update.
 */
const INTEGRATION_FIXTURES = /from "(?:\.\.\/)+support\/(?:stores|postgres|stack|local-stack-fixture|processes|browser|tcp-proxy|ledger|workflow-replay)\.ts"|from "(?:\.\.\/)+bench\/|receiver\/src\/store\/(?:postgres|pglite)-database\.ts"|receiver\/src\/receiver\.ts"|from "node:child_process"/;

const ALL = "test/**/*.test.ts";
const integration = globSync(ALL).filter((file) => INTEGRATION_FIXTURES.test(readFileSync(file, "utf8")));

export default defineConfig({
  test: {
    // Pulumi keeps runtime state on `global`, and the store tests create their own databases:
    // one process per file keeps both isolated.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: [ALL],
          exclude: integration,
          // Nothing here may reach a database: one that tries fails at once instead of passing by luck.
          env: { TEST_DATABASE_URL: "postgres://unit-tests-need-no-database@127.0.0.1:1/none" },
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: integration,
          globalSetup: ["test/support/global-setup.ts"],
        },
      },
    ],
  },
});
