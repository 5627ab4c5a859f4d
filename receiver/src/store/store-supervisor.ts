/**
 * The store as the receiver holds it from the first second: it listens before the database can
 * be reached, answers 503 + Retry-After (and /readyz says why) until it can, and gets there by
 * itself — a database down at start-up never makes the process exit or crash-loop. Only a caller
 * that asks for it (`giveUpAfterMs`: the local stack, where a failing DATABASE_URL is a typo, not
 * an outage) is told to stop instead.
 */
import type { Database, Transaction, TransactionOptions } from "./database.ts";
import { StoreUnavailableError } from "./database.ts";
import { describeFetchFailure } from "../network-errors.ts";

export interface StoreStatus {
  state: "opening" | "ready" | "closed";
  /** Why it is not ready yet (the last error opening it). */
  detail: string | null;
}

export interface SupervisedStore {
  db: Database;
  status(): StoreStatus;
  /** Resolves once the store is open and migrated. */
  ready: Promise<void>;
}

export interface SupervisorOptions {
  open(): Promise<Database>;
  /** Errors that retrying cannot fix (a locked data directory): the promise of `ready` rejects with them. */
  fatal?(error: unknown): boolean;
  onRetry?(error: unknown, delayMs: number): void;
  onReady?(): void;
  /** Delays between attempts: doubling from the first to the last. */
  retryMs?: { first: number; max: number };
  /**
   * Stop retrying once an attempt has failed and this long has passed since the first: `ready`
   * rejects with a StoreOpenError. A store that is merely slow to open (a first initdb) is waited for.
   */
  giveUpAfterMs?: number;
  /** Which store, in words, for StoreOpenError (e.g. "PostgreSQL at db:5432, database x, user y"). */
  describeTarget?: string;
}

/** The store could not be opened within the time the caller gave it. */
export class StoreOpenError extends Error {
  /** Which store, in words. */
  readonly target: string;
  /** The driver's own code: a SQLSTATE (28P01, 3D000…) or a socket error (ECONNREFUSED…). */
  readonly code: string | undefined;
  constructor(target: string, cause: unknown) {
    // The driver's message once, not wrapped in our store errors' prefixes.
    super(`cannot open ${target}: ${describeFetchFailure(cause)}`, { cause });
    this.name = "StoreOpenError";
    this.target = target;
    this.code = driverCode(cause);
  }
}

function driverCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    const code = (current as { code?: unknown }).code ?? (current instanceof AggregateError ? (current.errors[0] as { code?: unknown } | undefined)?.code : undefined);
    if (typeof code === "string" && code) return code;
  }
  return undefined;
}

function describe(error: unknown): string {
  const e = error as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  return `${e?.message ?? String(error)}${code && !(e?.message ?? "").includes(code) ? ` (${code})` : ""}`;
}

export function superviseStore(options: SupervisorOptions): SupervisedStore {
  let current: Database | null = null;
  let state: StoreStatus = { state: "opening", detail: null };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const { first, max } = options.retryMs ?? { first: 1000, max: 30_000 };

  const startedAt = Date.now();
  const ready = (async () => {
    for (let delay = first; ; delay = Math.min(delay * 2, max)) {
      try {
        const db = await options.open();
        if (stopped) {
          await db.close();
          return;
        }
        current = db;
        state = { state: "ready", detail: null };
        options.onReady?.();
        return;
      } catch (error) {
        if (options.fatal?.(error) || stopped) throw error;
        state = { state: "opening", detail: describe(error) };
        const left = options.giveUpAfterMs === undefined ? Number.POSITIVE_INFINITY : startedAt + options.giveUpAfterMs - Date.now();
        if (left <= 0) throw new StoreOpenError(options.describeTarget ?? "the database", error);
        const wait = Math.min(delay, left);
        options.onRetry?.(error, wait);
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, wait);
        });
        if (stopped) return;
      }
    }
  })();
  ready.catch(() => undefined);

  const live = (): Database => {
    if (current) return current;
    throw new StoreUnavailableError(new Error(state.detail ? `the database cannot be reached yet: ${state.detail}` : "the database is still opening"));
  };

  const db: Database = {
    query: async (sql, params, queryOptions) => live().query(sql, params, queryOptions),
    exec: async (sql) => live().exec(sql),
    transaction: async <T>(work: (tx: Transaction) => Promise<T>, transactionOptions?: TransactionOptions) => live().transaction(work, transactionOptions),
    async close() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      state = { state: "closed", detail: null };
      await ready.catch(() => undefined);
      await current?.close();
    },
  };
  return { db, status: () => state, ready };
}
