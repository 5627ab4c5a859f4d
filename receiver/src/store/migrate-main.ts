/**
 * The migration job's entry (what the stack's Container Apps job runs, inside the private network,
 * as the server's Microsoft Entra administrator): apply the migrations, make sure the receiver's
 * identity has its PostgreSQL role, and grant it data rights only (database-roles.ts). Configured
 * from the environment; one line per step; exits 1 naming the problem.
 *
 *   DATABASE_URL                  postgres://{administrator identity}@{server}:5432/{database}?sslmode=verify-full
 *   DATABASE_AUTH                 azure-managed-identity (or password: the URL's credentials)
 *   AZURE_CLIENT_ID               the administrator identity's client id
 *   RECEIVER_DATABASE_ROLE        the receiver identity's name (its DATABASE_URL user)
 *   RECEIVER_DATABASE_OBJECT_ID   the receiver identity's principal (object) id; unset: the role must exist
 */
import { entraDatabasePassword } from "./entra-database-token.ts";
import { ensureEntraServiceRole, grantDataRights } from "./database-roles.ts";
import { migrate } from "./migrate.ts";
import { openPostgres } from "./postgres-database.ts";

function required(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const url = new URL(required("DATABASE_URL"));
  const role = required("RECEIVER_DATABASE_ROLE");
  const objectId = process.env.RECEIVER_DATABASE_OBJECT_ID?.trim();
  const auth = process.env.DATABASE_AUTH?.trim() || "password";
  if (auth !== "password" && auth !== "azure-managed-identity") throw new Error(`DATABASE_AUTH must be password or azure-managed-identity, got "${auth}"`);
  const clientId = process.env.AZURE_CLIENT_ID?.trim();
  const password = auth === "azure-managed-identity" ? entraDatabasePassword(clientId ? { clientId } : {}) : undefined;
  const open = (target: URL) => openPostgres({ connectionString: target.toString(), maxConnections: 2, ...(password ? { password } : {}) });
  const database = decodeURIComponent(url.pathname.slice(1));

  if (objectId) {
    // Roles belong to the server; Entra principals are created from the postgres database.
    const server = new URL(url);
    server.pathname = "/postgres";
    const admin = open(server);
    try {
      const created = await ensureEntraServiceRole(admin, role, objectId);
      console.log(created ? `created the role ${role} for Entra object ${objectId}` : `role ${role} exists`);
    } finally {
      await admin.close();
    }
  }
  const db = open(url);
  try {
    const applied = await migrate(db);
    console.log(applied.length ? `applied migrations ${applied.join(", ")}` : "schema up to date");
    await grantDataRights(db, role, database);
    console.log(`${role} may read and write the data of ${database}, and change nothing else`);
  } finally {
    await db.close();
  }
}

try {
  await main();
} catch (error) {
  console.error(`secure-export migrate: ${(error as Error).message}`);
  process.exit(1);
}
