/** When a failed delivery is tried again: exponential backoff with jitter, never sooner than Retry-After. Pure. */

/** How the outbox delivers (OUTBOX_* variables, read by connectors/connector-config.ts). */
export interface OutboxConfig {
  /** Failed deliveries are retried until this old, then dead-lettered. */
  maxAgeMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  concurrency: number;
  pollMs: number;
}

export function retryDelayMs(attempts: number, config: Pick<OutboxConfig, "retryBaseMs" | "retryMaxMs">, retryAfterMs?: number, random = Math.random): number {
  const ceiling = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  // "Equal jitter": at least half the backoff, so retries of many jobs spread without collapsing to zero.
  const backoff = ceiling / 2 + random() * (ceiling / 2);
  return Math.max(backoff, retryAfterMs ?? 0);
}
