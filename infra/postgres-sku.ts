/**
 * Azure Database for PostgreSQL flexible server SKUs: their tier and how many connections users may
 * open, and from that the pool each receiver replica may use. Pure.
 *
 * Source: Microsoft Learn, "Limits in Azure Database for PostgreSQL flexible server", table
 * "Maximum connections" ("reserves 15 connections for physical replication and monitoring …
 * maximum user connections listed in the table is reduced by 15"), and the SkuTier enum of
 * @pulumi/azure-native (Burstable, GeneralPurpose, MemoryOptimized).
 */

export type SkuTier = "Burstable" | "GeneralPurpose" | "MemoryOptimized";

export interface PostgresSku {
  tier: SkuTier;
  maxUserConnections: number;
}

const TIER_BY_FAMILY: Record<string, SkuTier> = { B: "Burstable", D: "GeneralPurpose", E: "MemoryOptimized" };

/** Maximum user connections by family and vCores (default max_connections minus the 15 Azure reserves). */
const USER_CONNECTIONS: Record<string, Record<number, number>> = {
  B: { 1: 35, 2: 414, 4: 1703, 8: 3422 },
  D: { 2: 844, 4: 1703, 8: 3422 },
  E: { 2: 1703, 4: 3422 },
};
/** Every larger SKU allows 5,000 connections, 4,985 for users. */
const LARGEST_USER_CONNECTIONS = 4985;

/** B2ms has twice the memory of B2s and so twice the connections. */
const SPECIAL: Record<string, number> = { Standard_B2ms: 844 };

const SKU = /^Standard_(?:(B)(\d+)ms|(B)(2)s|([DE])(\d+)(?:s_v3|ds_v4|ds_v5|ads_v5))$/;

/** Connections kept free for an operator's psql session and for a migration run by hand. */
export const OPERATOR_CONNECTIONS = 5;

export function postgresSku(name: string): PostgresSku | undefined {
  const match = SKU.exec(name);
  if (!match) return undefined;
  const [family, cores] = [match[1] ?? match[3] ?? match[5]!, match[2] ?? match[4] ?? match[6]!];
  const vcores = Number(cores);
  const special = SPECIAL[name];
  const maxUserConnections = special ?? USER_CONNECTIONS[family]![vcores] ?? (vcores > 8 ? LARGEST_USER_CONNECTIONS : undefined);
  if (maxUserConnections === undefined) return undefined;
  return { tier: TIER_BY_FAMILY[family]!, maxUserConnections };
}

/**
 * The most connections one replica may open. A Single-revision rollout runs the old and the new
 * revision side by side, each up to maxReplicas, so the server must hold 2 x maxReplicas pools.
 */
export function poolMaxPerReplica(sku: PostgresSku, maxReplicas: number): number {
  return Math.floor((sku.maxUserConnections - OPERATOR_CONNECTIONS) / (2 * maxReplicas));
}
