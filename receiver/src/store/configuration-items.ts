/** The CMDB side of the ledger: CIs created from bindings and linked to incidents. */
import type { BindingSource, CiBinding } from "../cmdb/bindings.ts";
import { parseResourceId } from "../cmdb/resource-id.ts";
import type { Queryable, Transaction } from "./database.ts";
import { ciKey } from "./keys.ts";

export interface IncidentBinding {
  incidentId: string;
  binding: CiBinding;
}

const keyOf = (b: CiBinding): string => (b.bound ? ciKey({ resourceId: b.resource.resourceId }) : ciKey({ name: b.name }));

/** The CIs these bindings name (one row per CI key) and the links to their incidents. */
export function ciRecords(bindings: readonly IncidentBinding[]): { cis: Array<Record<string, unknown>>; links: Array<{ incident_id: string; ci_key: string; source: string }> } {
  const cis = new Map<string, Record<string, unknown>>();
  const links = new Map<string, { incident_id: string; ci_key: string; source: string }>();
  for (const { incidentId, binding } of bindings) {
    const key = keyOf(binding);
    if (!cis.has(key)) {
      cis.set(
        key,
        binding.bound
          ? {
              ci_key: key,
              resource_id: binding.resource.resourceId,
              name: binding.names[0] ?? binding.resource.name,
              bound: true,
              subscription_id: binding.resource.subscriptionId,
              resource_group: binding.resource.resourceGroup,
              provider_type: binding.resource.providerType,
            }
          : { ci_key: key, resource_id: null, name: binding.name, bound: false, subscription_id: null, resource_group: null, provider_type: null },
      );
    }
    const link = `${incidentId} ${key}`;
    if (!links.has(link)) links.set(link, { incident_id: incidentId, ci_key: key, source: binding.source });
  }
  return { cis: [...cis.values()], links: [...links.values()] };
}

export const CI_RECORD_COLUMNS = "ci_key text, resource_id text, name text, bound boolean, subscription_id text, resource_group text, provider_type text";

/**
 * Links incidents to their CIs, which an earlier statement of the transaction created when absent.
 * A second statement on purpose: it sees what this and every other transaction created (no CI row
 * is locked to find it). `lastSeenAt` moves at most once a minute, skipping rows others hold. The
 * CIs are also named by the key array, so the planner looks them up rather than read the table
 * (see ledger-writes.ts).
 */
export function linkConfigurationItems(tx: Transaction, links: ReadonlyArray<{ incident_id: string; ci_key: string; source: string }>): void {
  if (links.length === 0) return;
  tx.later(
    `WITH touched AS (
       UPDATE configuration_items SET last_seen_at = now()
       WHERE id IN (SELECT id FROM configuration_items WHERE ci_key = ANY($2::text[]) AND last_seen_at < now() - interval '1 minute'
                    ORDER BY id FOR UPDATE SKIP LOCKED))
     INSERT INTO incident_configuration_items (incident_id, ci_id, source)
     SELECT t.incident_id, ci.id, t.source
     FROM json_to_recordset($1::json) AS t(incident_id uuid, ci_key text, source text)
     JOIN configuration_items ci ON ci.ci_key = t.ci_key AND ci.ci_key = ANY($2::text[])
     ORDER BY t.incident_id, ci.id
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(links), [...new Set(links.map((l) => l.ci_key))]],
    { name: "ledger-link-cis" },
  );
}

/** What each incident is bound to, as bindings: what a delivery made outside intake carries. */
export async function bindingsOf(db: Queryable, incidentIds: readonly string[]): Promise<Map<string, CiBinding[]>> {
  const result = new Map<string, CiBinding[]>(incidentIds.map((id) => [id, []]));
  if (incidentIds.length === 0) return result;
  const { rows } = await db.query<{ incident_id: string; resource_id: string | null; name: string; source: string }>(
    // Each incident's links, and each link's CI, looked up by index (OFFSET 0 keeps a lateral
    // subquery from being flattened into a join). Filtered by = ANY, or joined to the ids, the
    // planner read every link for a batch of 100: without statistics it takes each element of ANY
    // for 1/200 of the table, and with them a hash join over a few thousand links looks cheaper.
    `SELECT wanted.id::text AS incident_id, ci.resource_id, ci.name, l.source
     FROM unnest($1::uuid[]) AS wanted(id)
     CROSS JOIN LATERAL (SELECT ci_id, source FROM incident_configuration_items WHERE incident_id = wanted.id OFFSET 0) l
     CROSS JOIN LATERAL (SELECT resource_id, name, bound, ci_key FROM configuration_items WHERE id = l.ci_id OFFSET 0) ci
     ORDER BY wanted.id, ci.bound DESC, ci.ci_key`,
    [[...new Set(incidentIds)]],
  );
  for (const row of rows) {
    const resource = row.resource_id ? parseResourceId(row.resource_id) : null;
    const binding: CiBinding = resource
      ? { bound: true, source: row.source as BindingSource, resource, names: [row.name] }
      : { bound: false, source: "name", name: row.name };
    result.get(row.incident_id)?.push(binding);
  }
  return result;
}
