/**
 * Named leases in the store, for work that must run on one replica at a time however many share
 * the database: the holder renews its lease each time it runs; another replica gets it only after it
 * expired. One statement each, so two replicas asking at once cannot both win.
 */
import type { Queryable } from "./database.ts";

/** Takes or renews the lease for `ttlMs`; false when another holder's lease is still running. */
export async function acquireLease(db: Queryable, name: string, holder: string, ttlMs: number): Promise<boolean> {
  const { rows } = await db.query<{ holder: string }>(
    `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
       acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE now() END
     WHERE leases.holder = excluded.holder OR leases.expires_at < now()
     RETURNING holder`,
    [name, holder, ttlMs / 1000],
  );
  return rows.length > 0;
}

/** Gives the lease up (on shutdown), so another replica need not wait for it to expire. */
export async function releaseLease(db: Queryable, name: string, holder: string): Promise<void> {
  await db.query("DELETE FROM leases WHERE name = $1 AND holder = $2", [name, holder]);
}

/** Who holds a lease now, or null. */
export async function leaseHolder(db: Queryable, name: string): Promise<{ holder: string; expiresAt: string } | null> {
  const { rows } = await db.query<{ holder: string; expires_at: string }>("SELECT holder, to_json(expires_at)#>>'{}' AS expires_at FROM leases WHERE name = $1 AND expires_at >= now()", [name]);
  const row = rows[0];
  return row ? { holder: row.holder, expiresAt: new Date(row.expires_at).toISOString() } : null;
}
