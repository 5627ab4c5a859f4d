/**
 * The receiver's own PostgreSQL role in Azure: data rights on the ledger's tables, nothing more. The
 * stack's migration job (receiver/src/migrate-job.ts) runs as the server's Microsoft Entra administrator, which
 * owns the schema, and grants these after every migration run; the receiver signs in as its own
 * managed identity and can neither change the schema nor create roles.
 *
 * - An Entra principal becomes a role with `pgaadauth_create_principal_with_oid(roleName, objectId,
 *   objectType, isAdmin, isMfa)`, objectType `service` for a service principal or managed identity,
 *   run by an Entra administrator (Microsoft Learn, "Manage Microsoft Entra roles in Azure Database
 *   for PostgreSQL"); the role name is what the receiver's DATABASE_URL names as its user (the
 *   identity's resource name).
 * - What the receiver does at run time needs only SELECT, INSERT, UPDATE and DELETE on the tables,
 *   and sequences for identity columns (LISTEN needs no privilege). PostgreSQL 15 and later grant
 *   PUBLIC no CREATE on schema public, so without more the role cannot create anything.
 */
import pg from "pg";
import type { Queryable } from "./database.ts";

const ident = (name: string) => pg.escapeIdentifier(name);

/** The statements that give `role` data rights (only) on everything in schema public of `database`. */
export function dataRightsStatements(role: string, database: string): string[] {
  const r = ident(role);
  return [
    `GRANT CONNECT ON DATABASE ${ident(database)} TO ${r}`,
    `GRANT USAGE ON SCHEMA public TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r}`,
    `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${r}`,
  ];
}

export async function grantDataRights(db: Queryable, role: string, database: string): Promise<void> {
  for (const statement of dataRightsStatements(role, database)) await db.query(statement);
}

/** Creates the role of an Entra service principal (a managed identity) unless it exists; true when created. */
export async function ensureEntraServiceRole(db: Queryable, role: string, objectId: string): Promise<boolean> {
  const found = await db.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
  if (found.rows.length > 0) return false;
  await db.query("SELECT * FROM pgaadauth_create_principal_with_oid($1, $2, 'service', false, false)", [role, objectId]);
  return true;
}
