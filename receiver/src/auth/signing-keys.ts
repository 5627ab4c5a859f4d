/**
 * The tenant's token signing keys, cached the way Microsoft advises (DESIGN.md §4): refreshed
 * periodically, refetched (rate-limited) when a token names an unknown `kid`, and kept when a
 * refresh fails so an outage of the keys endpoint does not turn into rejected alerts.
 * jose's createRemoteJWKSet has no stale fallback, so the cache is ours and jose resolves keys in it.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWTHeaderParameters, type FlattenedJWSInput } from "jose";

export class SigningKeysUnavailableError extends Error {
  constructor(cause: unknown) {
    super("no signing keys are available", { cause });
    this.name = "SigningKeysUnavailableError";
  }
}

export interface SigningKeysOptions {
  jwksUrl: string;
  refreshIntervalMs: number;
  /** Least time between two fetches triggered by unknown key ids. */
  minRefetchIntervalMs: number;
  timeoutMs?: number;
  now?: () => number;
  onRefreshError?: (error: unknown) => void;
}

interface KeySet {
  resolve: ReturnType<typeof createLocalJWKSet>;
  kids: ReadonlySet<string>;
}

const COLD_RETRY_MS = 5_000;

export class SigningKeys {
  private current: KeySet | null = null;
  private inflight: Promise<void> | null = null;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private lastError: unknown = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly options: SigningKeysOptions;
  private readonly now: () => number;

  constructor(options: SigningKeysOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  get loaded(): boolean {
    return this.current !== null;
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.refreshIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Fetches the key set; concurrent callers share one request. Never rejects: failures keep the last good set. */
  refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** A jose key resolver: `jwtVerify(token, keys.getKey, …)`. */
  readonly getKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    if (!this.current) {
      if (this.inflight || this.elapsedSinceAttempt() >= Math.min(COLD_RETRY_MS, this.options.minRefetchIntervalMs)) {
        await this.refresh();
      }
      if (!this.current) throw new SigningKeysUnavailableError(this.lastError);
    }
    if (header.kid && !this.current.kids.has(header.kid) && this.elapsedSinceAttempt() >= this.options.minRefetchIntervalMs) {
      await this.refresh();
    }
    return (this.current as KeySet).resolve(header, token);
  };

  private elapsedSinceAttempt(): number {
    return this.now() - this.lastAttemptAt;
  }

  private async fetchKeys(): Promise<void> {
    this.lastAttemptAt = this.now();
    try {
      const response = await fetch(this.options.jwksUrl, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      if (!response.ok) throw new Error(`keys endpoint answered ${response.status}`);
      const jwks = (await response.json()) as JSONWebKeySet;
      if (!Array.isArray(jwks?.keys) || jwks.keys.length === 0) throw new Error("keys endpoint returned no keys");
      this.current = {
        resolve: createLocalJWKSet(jwks),
        kids: new Set(jwks.keys.map((key) => key.kid).filter((kid): kid is string => typeof kid === "string")),
      };
      this.lastError = null;
    } catch (error) {
      this.lastError = error;
      this.options.onRefreshError?.(error);
    }
  }
}
