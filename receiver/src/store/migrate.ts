/**
 * Versioned migrations: `migrations/NNN-name.sql`, applied in order at start-up, each once, each
 * in its own transaction. An advisory lock lets several replicas start against one database.
 */
import { readdir, readFile } from "node:fs/promises";
import type { Database } from "./database.ts";

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);
const LOCK_KEY = 7_204_319_551;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(): Promise<Migration[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith(".sql")).sort();
  return Promise.all(
    files.map(async (file) => {
      const match = /^(\d+)-(.+)\.sql$/.exec(file);
      if (!match) throw new Error(`migration file ${file} is not named NNN-name.sql`);
      return { version: Number(match[1]), name: match[2] as string, sql: await readFile(new URL(file, MIGRATIONS_DIR), "utf8") };
    }),
  );
}

export async function migrate(db: Database): Promise<number[]> {
  const migrations = await loadMigrations();
  await db.query(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
  );
  const applied: number[] = [];
  for (const migration of migrations) {
    await db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
      const done = await tx.query("SELECT 1 FROM schema_migrations WHERE version = $1", [migration.version]);
      if (done.rows.length > 0) return;
      await tx.exec(migration.sql);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [migration.version, migration.name]);
      applied.push(migration.version);
    });
  }
  return applied;
}
