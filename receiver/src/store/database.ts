/**
 * One small SQL interface over PostgreSQL (`pg`) and the embedded PGlite, so every query is
 * written once in one dialect and tested against both, and one classification of what can go
 * wrong talking to either.
 */

export interface QueryOptions {
  /**
   * Names the statement so the server parses it once per connection (the embedded store: per
   * engine, for statements inside a transaction). Only for statements the hot path runs with the
   * same text every time (the intake batch; the outbox's claim and its other per-job statements,
   * which PostgreSQL then runs from one cached plan instead of planning each time).
   */
  name?: string;
}

/**
 * How long the plan of a named statement is kept, on the embedded store and on PostgreSQL's intake
 * connection: it is made again after this many executions (on PostgreSQL: intake transactions) or
 * this much time, whichever comes first.
 *
 * Named statements run from generic plans there — one plan for any parameters. They are the hot
 * path's lookups by key and set-based writes of a batch's records, whose best plan depends on the
 * tables' size, not on the values (test/receiver/ledger/batch-plans.test.ts checks the plans they
 * run), and planning them for each batch cost more than running some of them: on PostgreSQL about
 * a fifth of its time per alert, in the embedded engine's WebAssembly 150–250 µs a statement
 * (docs/performance.md). PostgreSQL's own choice (`auto`) keeps custom plans for a statement whose
 * array holds fewer keys than the ten a generic plan assumes, which is most batches' groups and
 * storm counters.
 *
 * But a plan is costed for the tables' size when it is made: one made on a new ledger's near-empty
 * tables scans them, and kept (as it was before this lifetime) it would scan them while they grow
 * to millions of rows — statistics that would invalidate it come only with an ANALYZE (hourly on the
 * embedded store, store/maintenance.ts). Made again this often, it never outlives much growth.
 */
export const PLAN_LIFETIME = { executions: 200, ms: 5000 } as const;

/** Counts the executions of plans made at one moment and says when PLAN_LIFETIME has run out (then the count starts again). */
export function planLifetime() {
  let executions = 0;
  let madeAt = performance.now();
  return {
    /** One more execution; true when its plan must be made again first. */
    due(): boolean {
      const at = performance.now();
      const over = executions >= PLAN_LIFETIME.executions || at - madeAt >= PLAN_LIFETIME.ms;
      if (over) [executions, madeAt] = [0, at];
      executions += 1;
      return over;
    },
    /** The next execution makes its plan again, whatever its count (after a failure). */
    expire(): void {
      executions = PLAN_LIFETIME.executions;
    },
  };
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<{ rows: Row[] }>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Transaction extends Queryable {
  /**
   * A statement whose result the caller does not need before COMMIT. A pipelining driver sends it
   * together with the COMMIT (one round trip for all of them); its failure fails the transaction.
   */
  later(sql: string, params?: readonly unknown[], options?: QueryOptions): void;
}

export interface TransactionOptions {
  /**
   * Run on the store's dedicated pipelined connection: statements issued without awaiting each
   * other travel in one round trip. For the intake batch, which is one transaction at a time.
   */
  pipelined?: boolean;
  /**
   * Run-time settings for this transaction only (`SET LOCAL`), sent together with its BEGIN: no
   * round trip of their own. For the outbox's bookkeeping, which runs thousands of short
   * transactions during a storm (store/outbox.ts). Names and values are the code's own constants.
   */
  settings?: Readonly<Record<string, string>>;
}

const SETTING = /^[a-z_]+$/;

/** `SET LOCAL` statements for `settings`; refuses anything but plain names and words. */
export function setLocal(settings: Readonly<Record<string, string>> | undefined): string[] {
  return Object.entries(settings ?? {}).map(([name, value]) => {
    if (!SETTING.test(name) || !SETTING.test(value)) throw new Error(`transaction setting ${name} = ${value} is not a plain name and value`);
    return `SET LOCAL ${name} = ${value}`;
  });
}

export interface Database extends Queryable {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

/**
 * The database cannot be reached or is failing as a server: nothing was committed, and a retry
 * may succeed once it is back, so HTTP answers 503 + Retry-After.
 */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`database unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "StoreUnavailableError";
  }
}

/**
 * The server refused a statement for what it said, not because it is down. `conflict`: another
 * transaction got in the way (unique race with another replica, deadlock, serialisation); running
 * the same work again succeeds. `rejected`: the data or the SQL is wrong, and retrying the same
 * request will fail the same way — a bug of ours, never an outage.
 */
export class StoreQueryError extends Error {
  readonly sqlState: string;
  readonly kind: "conflict" | "rejected";
  constructor(sqlState: string, message: string, cause: unknown) {
    super(`database refused a statement (${sqlState}): ${message}`, { cause });
    this.name = "StoreQueryError";
    this.sqlState = sqlState;
    this.kind = CONFLICT_STATES.has(sqlState) ? "conflict" : "rejected";
  }
}

// unique_violation (another replica created the same incident first), exclusion_violation
// (another replica opened the same group first), serialization_failure, deadlock_detected,
// lock_not_available.
const CONFLICT_STATES = new Set(["23505", "23P01", "40001", "40P01", "55P03"]);

/**
 * Runs a transaction again when it lost a race with another one (another replica created the same
 * incident or opened the same group first, or a deadlock was broken): nothing of it was committed,
 * and running it again sees their work. After `retries` more attempts the conflict is thrown.
 */
export async function retryingConflicts<T>(work: () => Promise<T>, retries: number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof StoreQueryError && error.kind === "conflict") || attempt >= retries) throw error;
    }
  }
}

// SQLSTATE classes that mean the server (not the statement) is the problem: connection exception,
// insufficient resources, operator intervention (shutdown, cancel), system and internal errors.
const UNAVAILABLE_CLASSES = new Set(["08", "53", "57", "58", "XX"]);

/** What a driver threw, as one of the two store errors. */
export function storeError(error: unknown): StoreUnavailableError | StoreQueryError {
  if (error instanceof StoreUnavailableError || error instanceof StoreQueryError) return error;
  const sqlState = typeof (error as { code?: unknown })?.code === "string" ? ((error as { code: string }).code) : undefined;
  // Node's socket errors carry codes like ECONNREFUSED: those are outages too.
  if (sqlState && /^[0-9A-Z]{5}$/.test(sqlState) && !UNAVAILABLE_CLASSES.has(sqlState.slice(0, 2))) {
    return new StoreQueryError(sqlState, (error as Error).message, error);
  }
  return new StoreUnavailableError(error);
}

/** Runs one driver call, translating what it throws; errors of the caller's own code pass through. */
export async function driverCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw storeError(error);
  }
}
