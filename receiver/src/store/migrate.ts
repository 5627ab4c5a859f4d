/**
 * Versioned migrations: `migrations/NNN-name.sql`, applied in order at start-up, each once, each
 * in its own transaction. An advisory lock lets several replicas start against one database.
 *
 * A role with data rights only (the receiver in Azure: migrations are the stack's migration job's,
 * receiver/src/migrate-job.ts) finds nothing pending and needs no DDL right: the schema is read before anything
 * is created. If something is pending and the role may not apply it, the error says so.
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

/** PostgreSQL's insufficient_privilege. */
const INSUFFICIENT_PRIVILEGE = "42501";

/** Migrations are pending and the connected role may not apply them. */
export class MigrationsNotAppliedError extends Error {
  constructor(pending: readonly Migration[], cause: unknown) {
    const names = pending.map((m) => `${String(m.version).padStart(3, "0")}-${m.name}`).join(", ");
    super(`the database lacks migration${pending.length > 1 ? "s" : ""} ${names}, and this database role may not apply ${pending.length > 1 ? "them" : "it"} (${(cause as Error).message}): run the migrations with a role that owns the schema (in Azure, the stack's migration job; docs/deploy/pulumi.md)`, { cause });
    this.name = "MigrationsNotAppliedError";
  }
}

/** The migrations not yet recorded in schema_migrations (all of them when the table does not exist). */
export async function pendingMigrations(db: Database, migrations: readonly Migration[]): Promise<Migration[]> {
  const table = await db.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  if (!table.rows[0]?.present) return [...migrations];
  const applied = new Set((await db.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((r) => Number(r.version)));
  return migrations.filter((m) => !applied.has(m.version));
}

export async function migrate(db: Database): Promise<number[]> {
  const migrations = await loadMigrations();
  const pending = await pendingMigrations(db, migrations);
  if (pending.length === 0) return [];
  try {
    return await apply(db, migrations);
  } catch (error) {
    if ((error as { code?: unknown }).code === INSUFFICIENT_PRIVILEGE || ((error as Error).cause as { code?: unknown } | undefined)?.code === INSUFFICIENT_PRIVILEGE) {
      throw new MigrationsNotAppliedError(pending, error);
    }
    throw error;
  }
}

async function apply(db: Database, migrations: readonly Migration[]): Promise<number[]> {
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
