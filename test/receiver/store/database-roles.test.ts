/**
 * The receiver's least-privilege PostgreSQL role, on the local server: the migration job's entry
 * (receiver/src/migrate-job.ts, run as a process as the stack runs it) migrates as the schema's
 * owner and grants the receiver's role data rights only; the receiver then starts as that role, reads
 * and writes, and can change no schema and create no role; a migration it lacks is named, not hidden.
 * The Entra principal is created through pgaadauth_create_principal_with_oid with the signature
 * Microsoft Learn documents ("Manage Microsoft Entra roles in Azure Database for PostgreSQL":
 * (roleName text, objectId text, objectType text, isAdmin boolean, isMfa boolean)), here a stand-in
 * of that signature, since only Azure has the real one.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureEntraServiceRole } from "../../../receiver/src/store/database-roles.ts";
import { MigrationsNotAppliedError } from "../../../receiver/src/store/migrate.ts";
import { openDatabase } from "../../../receiver/src/store/open-database.ts";
import { openPostgres } from "../../../receiver/src/store/postgres-database.ts";
import { adminQuery, createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "../../support/postgres.ts";
import { run } from "../../support/processes.ts";

const role = `secexp_receiver_${randomBytes(4).toString("hex")}`;
let database: TestDatabase;
const as = (user: string) => {
  const url = new URL(database.url);
  url.username = user;
  return url.toString();
};

beforeAll(async () => {
  database = await createTestDatabase();
  await adminQuery(TEST_DATABASE_URL, `CREATE ROLE ${role} LOGIN`);
});

afterAll(async () => {
  await database?.drop();
  await adminQuery(TEST_DATABASE_URL, `DROP ROLE IF EXISTS ${role}`);
});

describe("the migration job and the receiver's own role", () => {
  it("the job migrates and grants; the receiver's role then starts, reads and writes, and changes nothing else", async () => {
    const job = await run(["receiver/src/migrate-job.ts"], { PATH: process.env.PATH, DATABASE_URL: database.url, DATABASE_AUTH: "password", RECEIVER_DATABASE_ROLE: role });
    expect({ code: job.code, stderr: job.stderr }).toEqual({ code: 0, stderr: "" });
    expect(job.stdout).toMatch(/^applied migrations 1, 2, .*\n.* may read and write the data of secure_export_test_\w+, and change nothing else\n$/);

    const receiver = await openDatabase({ databaseUrl: as(role), dataDir: "/nonexistent" });
    try {
      const { rows } = await receiver.query<{ id: string }>(
        `INSERT INTO incidents (alert_id, alert_key, state, title, monitoring_service, family, fired_at, last_at, last_rank, last_key)
         VALUES ('a', 'a', 'open', 't', 'Platform', 'metric', now(), now(), 0, 'k') RETURNING id::text AS id`,
      );
      await receiver.query("UPDATE incidents SET title = 'u' WHERE id = $1", [rows[0]!.id]);
      await receiver.query("DELETE FROM incidents WHERE id = $1", [rows[0]!.id]);
      for (const ddl of ["CREATE TABLE stray (x int)", "ALTER TABLE incidents ADD COLUMN stray int", "DROP TABLE incidents", `CREATE ROLE ${role}_2`]) {
        await expect(receiver.query(ddl), ddl).rejects.toThrow(/permission denied|must be owner/);
      }
    } finally {
      await receiver.close();
    }
    // Run again (the next deploy): nothing to apply, the grants are the same.
    const again = await run(["receiver/src/migrate-job.ts"], { PATH: process.env.PATH, DATABASE_URL: database.url, DATABASE_AUTH: "password", RECEIVER_DATABASE_ROLE: role });
    expect(again.stdout).toMatch(/^schema up to date\n/);
  });

  it("a receiver whose schema lacks a migration says which and who applies it, instead of failing on DDL", async () => {
    await adminQuery(database.url, "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)");
    const opened = openDatabase({ databaseUrl: as(role), dataDir: "/nonexistent" });
    await expect(opened).rejects.toBeInstanceOf(MigrationsNotAppliedError);
    await expect(opened).rejects.toThrow(/^the database lacks migration \d{3}-[\w-]+, and this database role may not apply it \(.*permission denied.*\): run the migrations with a role that owns the schema \(in Azure, the stack's migration job/);
  });

  it("the job names what it lacks and exits 1", async () => {
    const job = await run(["receiver/src/migrate-job.ts"], { PATH: process.env.PATH, DATABASE_URL: database.url, DATABASE_AUTH: "password" });
    expect({ code: job.code, stderr: job.stderr.trim() }).toEqual({ code: 1, stderr: "secure-export migrate: RECEIVER_DATABASE_ROLE is required" });
  });

  it("creates the Entra principal's role once, with the documented function's signature", async () => {
    const principal = `${role}_entra`;
    // The stand-in: Azure's function of that signature creates the role (and more); here it only creates it.
    await adminQuery(database.url, `CREATE FUNCTION pgaadauth_create_principal_with_oid(rolename text, objectid text, objecttype text, isadmin boolean, ismfa boolean) RETURNS text
      LANGUAGE plpgsql AS $$ BEGIN IF objecttype <> 'service' OR isadmin OR ismfa THEN RAISE EXCEPTION 'unexpected %, %, %', objecttype, isadmin, ismfa; END IF;
      EXECUTE format('CREATE ROLE %I LOGIN', rolename); RETURN 'Created role for ' || rolename; END $$`);
    const db = openPostgres({ connectionString: database.url });
    try {
      expect(await ensureEntraServiceRole(db, principal, "0a1d0a1d-0000-4000-8000-00000000001d")).toBe(true);
      expect(await ensureEntraServiceRole(db, principal, "0a1d0a1d-0000-4000-8000-00000000001d")).toBe(false);
    } finally {
      await db.close();
      await adminQuery(TEST_DATABASE_URL, `DROP ROLE IF EXISTS ${principal}`);
    }
  });
});
