/** The CMDB side of the ledger: CIs upserted from bindings and linked to incidents. */
import type { CiBinding } from "../cmdb/bindings.ts";
import type { Queryable } from "./database.ts";

async function upsertCi(tx: Queryable, binding: CiBinding): Promise<string> {
  if (binding.bound) {
    const r = binding.resource;
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO configuration_items (resource_id, name, bound, subscription_id, resource_group, provider_type)
       VALUES ($1, $2, true, $3, $4, $5)
       ON CONFLICT (resource_id) DO UPDATE SET last_seen_at = now()
       RETURNING id::text AS id`,
      [r.resourceId, binding.names[0] ?? r.name, r.subscriptionId, r.resourceGroup, r.providerType],
    );
    return rows[0]!.id;
  }
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO configuration_items (resource_id, name, bound) VALUES (NULL, $1, false)
     ON CONFLICT (lower(name)) WHERE resource_id IS NULL DO UPDATE SET last_seen_at = now()
     RETURNING id::text AS id`,
    [binding.name],
  );
  return rows[0]!.id;
}

function lockOrder(binding: CiBinding): string {
  return binding.bound ? `0${binding.resource.resourceId}` : `1${binding.name.toLowerCase()}`;
}

export async function bindConfigurationItems(tx: Queryable, incidentId: string, bindings: readonly CiBinding[]): Promise<void> {
  // Upserting in one global order keeps two alerts sharing CIs from deadlocking each other.
  const ordered = [...bindings].sort((a, b) => (lockOrder(a) < lockOrder(b) ? -1 : 1));
  for (const binding of ordered) {
    const ciId = await upsertCi(tx, binding);
    await tx.query(
      "INSERT INTO incident_configuration_items (incident_id, ci_id, source) VALUES ($1::uuid, $2::uuid, $3) ON CONFLICT DO NOTHING",
      [incidentId, ciId, binding.source],
    );
  }
}
