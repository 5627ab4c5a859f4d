/** Both stores the receiver supports, opened and migrated, for `describe.each`. */
import type { Database } from "../../receiver/src/store/database.ts";
import { migrate } from "../../receiver/src/store/migrate.ts";
import { openPglite } from "../../receiver/src/store/pglite-database.ts";
import { openPostgres } from "../../receiver/src/store/postgres-database.ts";
import { createTestDatabase, type TestDatabase } from "./postgres.ts";

export interface OpenStore {
  db: Database;
  /** The PostgreSQL test database behind it, when there is one. */
  postgres?: TestDatabase;
  close(): Promise<void>;
}

export interface StoreKind {
  name: "pglite" | "postgres";
  open(): Promise<OpenStore>;
}

export const STORE_KINDS: StoreKind[] = [
  {
    name: "pglite",
    async open() {
      const db = await openPglite(undefined);
      await migrate(db);
      return { db, close: () => db.close() };
    },
  },
  {
    name: "postgres",
    async open() {
      const postgres = await createTestDatabase();
      const db = openPostgres({ connectionString: postgres.url });
      await migrate(db);
      return {
        db,
        postgres,
        async close() {
          await db.close();
          await postgres.drop();
        },
      };
    },
  },
];
