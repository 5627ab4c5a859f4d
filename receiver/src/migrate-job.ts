/**
 * The migration job's entry (what the stack's Container Apps job runs, inside the private network,
 * as the server's Microsoft Entra administrator): apply the migrations, make sure the receiver's
 * identity has its PostgreSQL role, and grant it data rights only (store/database-roles.ts). Configured
 * from the environment; one line per step; exits 1 naming the problem.
 *
 *   DATABASE_URL                  postgres://{administrator identity}@{server}:5432/{database}?sslmode=verify-full
 *   DATABASE_AUTH                 azure-managed-identity (or password: the URL's credentials)
 *   AZURE_CLIENT_ID               the administrator identity's client id
 *   RECEIVER_DATABASE_ROLE        the receiver identity's name (its DATABASE_URL user)
 *   RECEIVER_DATABASE_OBJECT_ID   the receiver identity's principal (object) id; unset: the role must exist
 */
import { managedIdentityToken } from "./azure/managed-identity.ts";
import { DATABASE_AUTH_MANAGED_IDENTITY, POSTGRES_ENTRA_RESOURCE } from "./contract.ts";
import { ensureEntraServiceRole, grantDataRights } from "./store/database-roles.ts";
import { migrate } from "./store/migrate.ts";
import { openPostgres } from "./store/postgres-database.ts";

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
  if (auth !== "password" && auth !== DATABASE_AUTH_MANAGED_IDENTITY) throw new Error(`DATABASE_AUTH must be password or ${DATABASE_AUTH_MANAGED_IDENTITY}, got "${auth}"`);
  const clientId = process.env.AZURE_CLIENT_ID?.trim();
  const password =
    auth === DATABASE_AUTH_MANAGED_IDENTITY
      ? managedIdentityToken({ resource: POSTGRES_ENTRA_RESOURCE, purpose: "database token", code: "DATABASE_TOKEN_UNAVAILABLE", ...(clientId ? { clientId } : {}) })
      : undefined;
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
