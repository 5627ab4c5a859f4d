import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import type { Database } from "./database.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { managedIdentityToken } from "../azure/managed-identity.ts";
import { POSTGRES_ENTRA_RESOURCE } from "../contract.ts";
import { migrate } from "./migrate.ts";
import { openPglite } from "./pglite-database.ts";
import { openPostgres, type PostgresOptions } from "./postgres-database.ts";

/** How the receiver signs in to PostgreSQL (DATABASE_AUTH). */
export type DatabaseAuth =
  /** The credentials in DATABASE_URL. */
  | { kind: "password" }
  /** A Microsoft Entra token of the managed identity (AZURE_CLIENT_ID: a user-assigned one) as the password. */
  | { kind: "azure-managed-identity"; clientId: string | undefined };

export interface StoreSettings {
  databaseUrl: string | undefined;
  dataDir: string;
  /** How to sign in to PostgreSQL. Default: the credentials in the URL. */
  databaseAuth?: DatabaseAuth;
  /** Connections one process may open in all (PostgreSQL): DATABASE_POOL_MAX. */
  maxConnections?: number;
  onIdleError?: (error: Error) => void;
  /** Told what opening is doing (start-up can take a while: PGlite's initdb, migrations). */
  onProgress?: (step: string) => void;
  /** The caller already holds the data directory's lock (lockDataDir). */
  dataDirLocked?: boolean;
}

/** PostgreSQL when DATABASE_URL is set, else the embedded store in DATA_DIR; migrated before use. */
export async function openDatabase(settings: StoreSettings): Promise<Database> {
  const progress = settings.onProgress ?? (() => undefined);
  let db: Database;
  let unlock: () => Promise<void> = async () => undefined;
  if (settings.databaseUrl) {
    const options: PostgresOptions = { connectionString: settings.databaseUrl };
    if (settings.maxConnections !== undefined) options.maxConnections = settings.maxConnections;
    if (settings.onIdleError) options.onIdleError = settings.onIdleError;
    if (settings.databaseAuth?.kind === "azure-managed-identity") {
      options.password = managedIdentityToken({
        resource: POSTGRES_ENTRA_RESOURCE,
        purpose: "database token",
        code: "DATABASE_TOKEN_UNAVAILABLE",
        ...(settings.databaseAuth.clientId ? { clientId: settings.databaseAuth.clientId } : {}),
      });
    }
    progress("connecting to PostgreSQL");
    db = openPostgres(options);
  } else {
    await mkdir(settings.dataDir, { recursive: true });
    if (!settings.dataDirLocked) unlock = await lockDataDir(settings.dataDir);
    progress(`opening the embedded store in ${join(settings.dataDir, "pglite")} (the first start creates it, which takes a while)`);
    try {
      db = await openPglite(join(settings.dataDir, "pglite"));
    } catch (error) {
      await unlock();
      throw error;
    }
  }
  try {
    progress("applying migrations");
    const applied = await migrate(db);
    progress(applied.length ? `applied migrations ${applied.join(", ")}` : "schema up to date");
  } catch (error) {
    await db.close().catch(() => undefined);
    await unlock();
    throw error;
  }
  const close = db.close.bind(db);
  return { ...db, close: async () => { await close(); await unlock(); } };
}
