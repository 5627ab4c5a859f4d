/** The CMDB side of the ledger: CIs upserted from bindings and linked to incidents. */
import type { CiBinding } from "../cmdb/bindings.ts";
import type { Queryable } from "./database.ts";

type Bound = Extract<CiBinding, { bound: true }>;
type Unbound = Extract<CiBinding, { bound: false }>;

/**
 * Upserts CIs and links them in one statement per kind. Rows are inserted in one global order
 * (resource id, or lower-cased name) so two alerts sharing CIs cannot deadlock each other.
 */
export async function bindConfigurationItems(tx: Queryable, incidentId: string, bindings: readonly CiBinding[]): Promise<void> {
  const bound = bindings.filter((b): b is Bound => b.bound);
  const unbound = bindings.filter((b): b is Unbound => !b.bound);
  if (bound.length > 0) {
    await tx.query(
      `WITH input AS (
         SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
           AS t(resource_id, name, subscription_id, resource_group, provider_type, source)),
       upserted AS (
         INSERT INTO configuration_items (resource_id, name, bound, subscription_id, resource_group, provider_type)
         SELECT resource_id, name, true, subscription_id, resource_group, provider_type FROM input ORDER BY resource_id
         ON CONFLICT (resource_id) DO UPDATE SET last_seen_at = now()
         RETURNING id, resource_id)
       INSERT INTO incident_configuration_items (incident_id, ci_id, source)
       SELECT $1::uuid, upserted.id, input.source FROM upserted JOIN input USING (resource_id)
       ON CONFLICT DO NOTHING`,
      [
        incidentId,
        bound.map((b) => b.resource.resourceId),
        bound.map((b) => b.names[0] ?? b.resource.name),
        bound.map((b) => b.resource.subscriptionId),
        bound.map((b) => b.resource.resourceGroup),
        bound.map((b) => b.resource.providerType),
        bound.map((b) => b.source),
      ],
    );
  }
  if (unbound.length > 0) {
    await tx.query(
      `WITH input AS (SELECT DISTINCT ON (lower(name)) name FROM unnest($2::text[]) AS t(name)),
       upserted AS (
         INSERT INTO configuration_items (resource_id, name, bound)
         SELECT NULL, name, false FROM input ORDER BY lower(name)
         ON CONFLICT (lower(name)) WHERE resource_id IS NULL DO UPDATE SET last_seen_at = now()
         RETURNING id)
       INSERT INTO incident_configuration_items (incident_id, ci_id, source)
       SELECT $1::uuid, id, 'name' FROM upserted
       ON CONFLICT DO NOTHING`,
      [incidentId, unbound.map((b) => b.name)],
    );
  }
}
