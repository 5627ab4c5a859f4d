import { join } from "node:path";
import type { DatabaseAuth } from "../config.ts";
import type { Database } from "./database.ts";
import { entraDatabasePassword } from "./entra-database-token.ts";
import { openPglite } from "./pglite-database.ts";
import { openPostgres } from "./postgres-database.ts";
import { migrate } from "./migrate.ts";

export interface StoreSettings {
  databaseUrl: string | undefined;
  dataDir: string;
  /** Default: the credentials in the URL. */
  databaseAuth?: DatabaseAuth;
  /** DATABASE_POOL_MAX. */
  maxConnections?: number;
  onIdleError?: (error: Error) => void;
}

/** PostgreSQL when DATABASE_URL is set, else the embedded store in DATA_DIR; migrated before use. */
export async function openDatabase(settings: StoreSettings): Promise<Database> {
  const db = settings.databaseUrl
    ? openPostgres({
        connectionString: settings.databaseUrl,
        ...(settings.maxConnections ? { maxConnections: settings.maxConnections } : {}),
        ...(settings.databaseAuth?.kind === "azure-managed-identity" ? { password: entraDatabasePassword({ ...(settings.databaseAuth.clientId ? { clientId: settings.databaseAuth.clientId } : {}) }) } : {}),
        ...(settings.onIdleError ? { onIdleError: settings.onIdleError } : {}),
      })
    : await openPglite(join(settings.dataDir, "pglite"));
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return db;
}
