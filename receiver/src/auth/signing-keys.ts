/**
 * The tenant's token signing keys, cached the way Microsoft advises: refreshed about daily,
 * refetched when a token names an unknown `kid`, and kept when a refresh fails so an outage of the
 * keys endpoint does not turn into rejected alerts. jose's createRemoteJWKSet has no stale fallback
 * and cannot tell "not published" from "not fetched yet", so the cache is ours and jose only
 * resolves keys in it.
 *
 * Azure Monitor does not retry a 401, so an unknown `kid` is refused as a bad token only when a key
 * set fetched after that `kid` was first seen lacks it. A request with an unknown `kid` waits (at
 * most KID_WAIT_MS) for such a fetch: a key Entra just rotated in is accepted on the first try, and a
 * made-up one is a 401. Fetches on demand are single-flight and at most one per
 * `minRefetchIntervalMs`, so a flood of made-up `kid`s arriving together costs one fetch; only when
 * that fetch fails, or cannot start within the wait, does the token get SigningKeysUnavailableError
 * (503 + Retry-After, which Azure retries). The memory of unknown `kid`s is bounded.
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
  /** Waits `ms` (tests pass one that moves their clock). */
  sleep?: (ms: number) => Promise<void>;
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
/**
 * How long a request with an unknown `kid` may wait for a key set fetched after it arrived. Azure
 * Monitor waits about 10 s for a webhook's answer before it counts a timeout
 * (https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups#webhook): the answer must come
 * well within that, so a longer wait is a 503 at once.
 */
export const KID_WAIT_MS = 8_000;

export class SigningKeys {
  private current: KeySet | null = null;
  private inflight: Promise<void> | null = null;
  private startedFetches = 0;
  private lastOnDemandAt = Number.NEGATIVE_INFINITY;
  private lastError: KeysFetchError | null = null;
  /** Which fetch failed last (fetches are numbered as they start); 0: none. */
  private lastFailedSequence = 0;
  /** The on-demand fetch waiting for the rate limit, shared by every request that needs it. */
  private scheduled: Promise<void> | null = null;
  private readonly sleep: (ms: number) => Promise<void>;
  /** kid → how many fetches had started when it was first seen unknown. */
  private readonly unknownKids = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private readonly options: SigningKeysOptions;
  private readonly now: () => number;

  constructor(options: SigningKeysOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
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

    // The fetches begun before this request: one begun after it (or after the kid was first seen) decides.
    const arrival = this.startedFetches;
    const seenAt = kid === undefined ? arrival : this.sighting(kid);
    const deadline = this.now() + KID_WAIT_MS;
    // Each round returns, throws, or waits for a fetch; the fetch it starts is numbered after
    // `seenAt`, so the next round decides. At most: an old fetch in flight, then our own.
    for (;;) {
      const keys = this.current;
      // jose throws JWKSNoMatchingKey (401) when a set fetched after the sighting lacks the kid.
      if (keys && (kid === undefined || keys.kids.has(kid) || keys.sequence > seenAt)) return keys.resolve(header, token);
      // A fetch made after the token arrived failed: the keys cannot be fetched now.
      if (this.lastFailedSequence > arrival) throw this.unavailable();
      if (this.inflight) {
        if (!(await this.settlesBefore(this.inflight, deadline))) throw this.unavailable();
        continue;
      }
      const waitMs = Math.max(0, this.lastOnDemandAt + this.options.minRefetchIntervalMs - this.now());
      if (this.now() + waitMs > deadline) throw this.unavailable();
      await this.refetchOnDemand(waitMs);
    }
  };

  /** The next on-demand fetch, once the rate limit allows it: one for every request waiting. */
  private refetchOnDemand(waitMs: number): Promise<void> {
    this.scheduled ??= (async () => {
      // Always after a turn of the event loop, so `scheduled` is set before it is cleared.
      await (waitMs > 0 ? this.sleep(waitMs) : Promise.resolve());
      this.lastOnDemandAt = this.now();
      // From here on, arrivals share the fetch in flight rather than this schedule.
      const fetching = this.refresh();
      this.scheduled = null;
      await fetching;
    })();
    return this.scheduled;
  }

  /** Whether `promise` settles before `deadline` (by the clock); a fetch's own timeout may be longer. */
  private async settlesBefore(promise: Promise<void>, deadline: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - this.now()))));
    try {
      return await Promise.race([promise.then(() => true as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }

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
      this.lastFailedSequence = sequence;
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
