/**
 * Index keys for values of any length. A btree entry holds at most about 2.7 KB, and Azure may
 * send a longer alert id, ARM id or CI name; the full value is stored as it is, and the key is the
 * value itself up to 512 bytes, else its SHA-256. Migration 004 computes the same keys in SQL.
 */
import { createHash } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

const MAX_KEY_BYTES = 512;

export function indexKey(value: string): string {
  if (Buffer.byteLength(value, "utf8") <= MAX_KEY_BYTES) return value;
  return `sha256:${createHash("sha256").update(value, "utf8").digest("hex")}`;
}

/** The key of an incident: its Azure alertId. */
export const alertKey = (alertId: string): string => indexKey(alertId);

/** The key of a CI: its lower-cased ARM id when bound, else its lower-cased name. */
export const ciKey = (ci: { resourceId: string } | { name: string }): string =>
  "resourceId" in ci ? `r:${indexKey(ci.resourceId.toLowerCase())}` : `n:${indexKey(ci.name.toLowerCase())}`;

/**
 * A new incident's id: a UUIDv7 (RFC 9562), whose leading bits are its creation time. Every index
 * keyed by incident id (the incidents' primary key, the timeline's, the CI links', the deliveries')
 * then takes new entries at its right edge, in pages already in memory. Random (v4) ids put each one
 * on a random page: at 1,000,000 incidents those indexes outgrow a stock server's cache, and each
 * alert read pages back from disk and wrote whole pages to the WAL (docs/performance.md).
 */
export const newIncidentId = (): string => uuidv7();
