import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { guarded, type Database } from "./database.ts";

/** The embedded store: PostgreSQL compiled to WebAssembly, persisted in `dataDir` (memory when undefined). */
export async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  // relaxedDurability stays off: a commit is on disk before the query resolves, as the 2xx promises.
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  return {
    kind: "pglite",
    query: (sql, params) => guarded(async () => ({ rows: (await db.query(sql, params as unknown[] | undefined)).rows as never[] })),
    exec: (sql) => guarded(async () => void (await db.exec(sql))),
    transaction: (work) =>
      guarded(() =>
        db.transaction((tx) =>
          work({
            query: async (sql, params) => ({ rows: (await tx.query(sql, params as unknown[] | undefined)).rows as never[] }),
            exec: async (sql) => void (await tx.exec(sql)),
          }),
        ),
      ),
    close: () => db.close(),
  };
}
