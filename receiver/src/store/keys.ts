/**
 * Index keys for values of any length. A btree entry holds at most about 2.7 KB, and Azure may
 * send a longer alert id, ARM id or CI name; the full value is stored as it is, and the key is the
 * value itself up to 512 bytes, else its SHA-256. Migration 004 computes the same keys in SQL.
 */
import { createHash } from "node:crypto";

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
