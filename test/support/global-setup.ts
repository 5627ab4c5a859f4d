/**
 * Before any test: the store tests need a PostgreSQL server. Without one, say so once, plainly,
 * instead of letting dozens of tests fail with connection errors.
 */
import pg from "pg";
import { TEST_DATABASE_URL } from "./postgres.ts";

export default async function checkPostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    throw new Error(
      `npm test needs PostgreSQL: ${TEST_DATABASE_URL} is not reachable (${(error as Error).message}). ` +
        "Start a local server (Debian: pg_ctlcluster <version> main start; any PostgreSQL 13 or later with a user that may CREATE DATABASE), " +
        "or point TEST_DATABASE_URL at one.",
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
