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

/**
 * Creates the CIs these bindings name and links them to their incidents. No CI row is locked:
 * a CI all alerts of a storm share would otherwise serialise every batch (on every replica) until
 * commit. Rows are created in key order, absent ones only; the links are a second statement, which
 * sees what this and every other transaction created. `lastSeenAt` moves at most once a minute,
 * skipping rows another transaction holds.
 */
export function bindConfigurationItems(tx: Transaction, bindings: readonly IncidentBinding[]): void {
  if (bindings.length === 0) return;
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
  const keys = [...cis.keys()];
  tx.later(
    `INSERT INTO configuration_items (ci_key, resource_id, name, bound, subscription_id, resource_group, provider_type)
     SELECT * FROM json_to_recordset($1::json)
       AS t(ci_key text, resource_id text, name text, bound boolean, subscription_id text, resource_group text, provider_type text)
     ORDER BY ci_key
     ON CONFLICT (ci_key) DO NOTHING`,
    [JSON.stringify([...cis.values()])],
    { name: "ledger-insert-cis" },
  );
  tx.later(
    `INSERT INTO incident_configuration_items (incident_id, ci_id, source)
     SELECT t.incident_id, ci.id, t.source
     FROM json_to_recordset($1::json) AS t(incident_id uuid, ci_key text, source text)
     JOIN configuration_items ci ON ci.ci_key = t.ci_key
     ORDER BY t.incident_id, ci.id
     ON CONFLICT DO NOTHING`,
    [JSON.stringify([...links.values()])],
    { name: "ledger-link-cis" },
  );
  tx.later(
    `UPDATE configuration_items SET last_seen_at = now()
     WHERE id IN (SELECT id FROM configuration_items WHERE ci_key = ANY($1::text[]) AND last_seen_at < now() - interval '1 minute'
                  ORDER BY id FOR UPDATE SKIP LOCKED)`,
    [keys],
    { name: "ledger-touch-cis" },
  );
}

/** What each incident is bound to, as bindings: what a delivery made outside intake carries. */
export async function bindingsOf(db: Queryable, incidentIds: readonly string[]): Promise<Map<string, CiBinding[]>> {
  const result = new Map<string, CiBinding[]>(incidentIds.map((id) => [id, []]));
  if (incidentIds.length === 0) return result;
  const { rows } = await db.query<{ incident_id: string; resource_id: string | null; name: string; source: string }>(
    `SELECT l.incident_id::text AS incident_id, ci.resource_id, ci.name, l.source
     FROM incident_configuration_items l JOIN configuration_items ci ON ci.id = l.ci_id
     WHERE l.incident_id = ANY($1::uuid[]) ORDER BY l.incident_id, ci.bound DESC, ci.ci_key`,
    [incidentIds],
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
