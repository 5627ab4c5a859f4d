/** When a failed delivery is tried again: exponential backoff with jitter, never sooner than Retry-After. Pure. */
import type { OutboxConfig } from "../connectors/connector-config.ts";

export function retryDelayMs(attempts: number, config: Pick<OutboxConfig, "retryBaseMs" | "retryMaxMs">, retryAfterMs?: number, random = Math.random): number {
  const ceiling = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  // "Equal jitter": at least half the backoff, so retries of many jobs spread without collapsing to zero.
  const backoff = ceiling / 2 + random() * (ceiling / 2);
  return Math.max(backoff, retryAfterMs ?? 0);
}
