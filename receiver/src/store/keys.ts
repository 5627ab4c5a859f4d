/**
 * Index keys for values of any length. A btree entry holds at most about 2.7 KB, and Azure may
 * send a longer alert id, ARM id or CI name; the full value is stored as it is, and the key is the
 * value itself up to 512 bytes, else its SHA-256. Migration 004 computes the same keys in SQL.
 */
import { createHash, randomFillSync } from "node:crypto";
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
 *
 * The random bits come from a pool filled 256 ids at a time: the package's own source asks the
 * kernel for 16 bytes per id (crypto.getRandomValues), and an id took 2.3 µs, now 0.5. Given
 * its bytes, the package no longer keeps its counter, so the time and the counter that keep ids of
 * one millisecond in creation order (RFC 9562 section 6.2, method 1) are kept here, as it does.
 */
const POOL = new Uint8Array(16 * 256);
let pooled = POOL.length;
let lastMs = -Infinity;
let seq = 0;

export function newIncidentId(): string {
  if (pooled === POOL.length) {
    randomFillSync(POOL);
    pooled = 0;
  }
  const random = POOL.subarray(pooled, (pooled += 16));
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    // The package's seed for a new millisecond: 31 random bits, leaving room to count up.
    seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs += 1;
  }
  return uuidv7({ random, msecs: lastMs, seq });
}
