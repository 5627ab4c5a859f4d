/** How the outbox delivers (its OUTBOX_* variables), and when a failed delivery is tried again. */
import { integer, type Env } from "../env.ts";

/** How the outbox delivers. */
export interface OutboxConfig {
  /** Failed deliveries are retried until this old, then dead-lettered. */
  maxAgeMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  concurrency: number;
  pollMs: number;
}

export function outboxConfigFromEnv(env: Env): OutboxConfig {
  return {
    maxAgeMs: integer(env, "OUTBOX_MAX_AGE_SECONDS", 86_400, 60, 30 * 86_400) * 1000,
    retryBaseMs: integer(env, "OUTBOX_RETRY_BASE_SECONDS", 5, 0, 3600) * 1000,
    retryMaxMs: integer(env, "OUTBOX_RETRY_MAX_SECONDS", 900, 1, 86_400) * 1000,
    concurrency: integer(env, "OUTBOX_CONCURRENCY", 4, 1, 64),
    pollMs: integer(env, "OUTBOX_POLL_MS", 1000, 10, 60_000),
  };
}

/** Exponential backoff with jitter, never sooner than Retry-After. Pure. */
export function retryDelayMs(attempts: number, config: Pick<OutboxConfig, "retryBaseMs" | "retryMaxMs">, retryAfterMs?: number, random = Math.random): number {
  const ceiling = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  // "Equal jitter": at least half the backoff, so retries of many jobs spread without collapsing to zero.
  const backoff = ceiling / 2 + random() * (ceiling / 2);
  return Math.max(backoff, retryAfterMs ?? 0);
}
