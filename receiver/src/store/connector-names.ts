/**
 * Connectors used to be called by their kind ("servicenow", "bmc-helix"); now they have names
 * (today's variables configure `default`). Deliveries queued and links made under the old
 * name move to the new one, so nothing queued before an upgrade is stranded.
 */
import type { Database } from "./database.ts";

export async function renameConnector(db: Database, from: string, to: string): Promise<number> {
  return db.transaction(async (tx) => {
    const moved = await tx.query<{ n: number }>("WITH m AS (UPDATE deliveries SET connector = $2 WHERE connector = $1 RETURNING 1) SELECT count(*)::int AS n FROM m", [from, to]);
    await tx.query("UPDATE connector_links SET connector = $2 WHERE connector = $1", [from, to]);
    return moved.rows[0]?.n ?? 0;
  });
}
