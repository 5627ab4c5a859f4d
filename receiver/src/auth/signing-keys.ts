/**
 * The tenant's token signing keys, cached the way Microsoft advises: refreshed about daily,
 * refetched when a token names an unknown `kid`, and kept when a refresh fails so an outage of the
 * keys endpoint does not turn into rejected alerts. jose's createRemoteJWKSet has no stale fallback
 * and cannot tell "not published" from "not fetched yet", so the cache is ours and jose only
 * resolves keys in it.
 *
 * Azure Monitor does not retry a 401, so an unknown `kid` is refused as a bad token only when a key
 * set fetched after that `kid` was first seen lacks it. Until then the token gets
 * SigningKeysUnavailableError (503 + Retry-After, which Azure retries): while a fetch is in flight,
 * while fetches on demand are rate-limited, and while the keys endpoint fails. Fetches on demand are
 * single-flight and at most one per `minRefetchIntervalMs`, so a flood of made-up `kid`s costs the
 * keys endpoint nothing more; the memory of unknown `kid`s is bounded.
 */
import { createLocalJWKSet, type FlattenedJWSInput, type JSONWebKeySet, type JWTHeaderParameters } from "jose";
import { describeFetchFailure } from "../network-errors.ts";

/** No key can verify this token yet; asking again later may succeed. */
export class SigningKeysUnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "SigningKeysUnavailableError";
  }
}

/** Why the keys endpoint gave no usable key set: no answer, an error status, or a body that is not a key set. */
export class KeysFetchError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "KeysFetchError";
  }
}

export interface SigningKeysOptions {
  jwksUrl: string;
  refreshIntervalMs: number;
  /** Least time between two fetches caused by requests (an unknown `kid`, or no keys yet). */
  minRefetchIntervalMs: number;
  timeoutMs?: number;
  now?: () => number;
  /** Each failed fetch, with the cause in its message (connection refused, HTTP status, bad JSON…). */
  onRefreshError?: (error: KeysFetchError) => void;
}

interface KeySet {
  resolve: ReturnType<typeof createLocalJWKSet>;
  kids: ReadonlySet<string>;
  /** Which fetch produced it (fetches are numbered as they start). */
  sequence: number;
  fetchStartedAt: number;
}

/** After a failed scheduled refresh, try again this soon rather than a whole refresh interval later. */
const FAILED_REFRESH_RETRY_MS = 30_000;
/** Unknown `kid`s remembered; beyond this the oldest is forgotten, which costs at most a rate-limited refetch. */
const UNKNOWN_KID_MEMORY = 1000;
/**
 * How long a key set's "this kid is not published" holds. Later, the same kid is treated as new
 * (one more rate-limited fetch), so a key published after our last fetch is still picked up.
 */
const UNKNOWN_KID_VERDICT_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 10_000;

export class SigningKeys {
  private current: KeySet | null = null;
  private inflight: Promise<void> | null = null;
  private startedFetches = 0;
  private lastOnDemandAt = Number.NEGATIVE_INFINITY;
  private lastError: KeysFetchError | null = null;
  /** kid → how many fetches had started when it was first seen unknown. */
  private readonly unknownKids = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private readonly options: SigningKeysOptions;
  private readonly now: () => number;

  constructor(options: SigningKeysOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  get loaded(): boolean {
    return this.current !== null;
  }

  /** Changes whenever a fetch replaces the key set; what was verified under another generation is checked again. */
  get generation(): number {
    return this.current?.sequence ?? 0;
  }

  /** Why the last fetch failed, or null when it succeeded (or none ran yet). */
  get lastFailure(): string | null {
    return this.lastError?.message ?? null;
  }

  /** Fetches now, then on the refresh interval (sooner after a failure), until stop(). */
  start(): void {
    this.stopped = false;
    void this.scheduledRefresh();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
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
    const kid = typeof header.kid === "string" ? header.kid : undefined;
    if (this.current && (kid === undefined || this.current.kids.has(kid))) return this.current.resolve(header, token);

    const seenAt = kid === undefined ? this.startedFetches : this.sighting(kid);
    // At most: wait for a fetch that started before the sighting, run one of our own, decide.
    for (let round = 0; round < 3; round += 1) {
      const keys = this.current;
      // jose throws JWKSNoMatchingKey (401) when a set fetched after the sighting lacks the kid.
      if (keys && (kid === undefined || keys.kids.has(kid) || keys.sequence > seenAt)) return keys.resolve(header, token);
      if (this.inflight) {
        await this.inflight;
        continue;
      }
      if (this.now() - this.lastOnDemandAt < this.options.minRefetchIntervalMs) break;
      this.lastOnDemandAt = this.now();
      await this.refresh();
    }
    throw this.unavailable();
  };

  private unavailable(): SigningKeysUnavailableError {
    if (!this.current) {
      return new SigningKeysUnavailableError(`no signing keys are loaded${this.lastError ? `: ${this.lastError.message}` : " yet"}`, this.lastError);
    }
    if (this.lastError) {
      return new SigningKeysUnavailableError(`the token's signing key is not among the loaded keys and refetching them failed: ${this.lastError.message}`, this.lastError);
    }
    const waitMs = Math.max(0, this.lastOnDemandAt + this.options.minRefetchIntervalMs - this.now());
    return new SigningKeysUnavailableError(`the token's signing key is not among the loaded keys; they are refetched within ${Math.ceil(waitMs / 1000)} s`);
  }

  /** When an unknown kid was first seen, as a fetch count; a stale verdict counts as a new sighting. */
  private sighting(kid: string): number {
    const seen = this.unknownKids.get(kid);
    const current = this.current;
    const verdictIsStale = seen !== undefined && current !== null && current.sequence > seen && this.now() - current.fetchStartedAt >= UNKNOWN_KID_VERDICT_MS;
    if (seen !== undefined && !verdictIsStale) return seen;
    this.unknownKids.delete(kid);
    if (this.unknownKids.size >= UNKNOWN_KID_MEMORY) this.unknownKids.delete(this.unknownKids.keys().next().value!);
    this.unknownKids.set(kid, this.startedFetches);
    return this.startedFetches;
  }

  private async scheduledRefresh(): Promise<void> {
    await this.refresh();
    if (this.stopped) return;
    const next = this.lastError ? Math.min(FAILED_REFRESH_RETRY_MS, this.options.refreshIntervalMs) : this.options.refreshIntervalMs;
    this.timer = setTimeout(() => void this.scheduledRefresh(), next);
    this.timer.unref();
  }

  private async fetchKeys(): Promise<void> {
    this.startedFetches += 1;
    const sequence = this.startedFetches;
    const fetchStartedAt = this.now();
    try {
      const jwks = await this.download();
      const kids = new Set(jwks.keys.map((key) => key.kid).filter((kid): kid is string => typeof kid === "string"));
      // Replacing the whole set is what stops trusting a key Microsoft removed.
      this.current = { resolve: createLocalJWKSet(jwks), kids, sequence, fetchStartedAt };
      for (const kid of kids) this.unknownKids.delete(kid);
      this.lastError = null;
    } catch (error) {
      this.lastError = error instanceof KeysFetchError ? error : new KeysFetchError(`keys from ${this.options.jwksUrl} are unusable: ${(error as Error).message}`, error);
      this.options.onRefreshError?.(this.lastError);
    }
  }

  private async download(): Promise<JSONWebKeySet> {
    const url = this.options.jwksUrl;
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let status: number;
    let text: string;
    try {
      const response = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(timeoutMs) });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw new KeysFetchError(`could not fetch ${url}: ${describeFetchFailure(error, timeoutMs)}`, error);
    }
    if (status < 200 || status > 299) throw new KeysFetchError(`${url} answered ${status}: ${text.slice(0, 200) || "(empty body)"}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new KeysFetchError(`${url} answered ${status} with a body that is not JSON (${(error as Error).message})`, error);
    }
    const keys = (body as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys) || keys.length === 0) throw new KeysFetchError(`${url} answered ${status} with no keys`);
    return body as JSONWebKeySet;
  }
}
