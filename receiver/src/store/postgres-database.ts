import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { driverCall, planLifetime, setLocal, storeError, StoreUnavailableError, type Database, type Queryable, type QueryOptions, type Transaction } from "./database.ts";

export interface PostgresOptions {
  connectionString: string;
  /** Connections this process may open in all: the pool plus the intake connection. */
  maxConnections?: number;
  /** Produces the password for each new connection (an Entra access token); unset: the URL's. */
  password?: () => Promise<string>;
  onIdleError?: (error: Error) => void;
}

type Client = pg.Client | pg.PoolClient;

const SESSION_SETTINGS = [
  // Timestamps come back as UTC text whatever the server's TimeZone, so ordering, cursors and
  // what the API shows never depend on how the server is configured.
  "-c TimeZone=UTC",
  // Fail fast when the server is gone or stuck: Azure retries a 503 sooner than it waits for us.
  "-c statement_timeout=15000",
].join(" ");

function clientConfig(options: PostgresOptions): pg.ClientConfig {
  // pg lets the URL's (empty) password override a password function: parse the URL here instead.
  const target: pg.ClientConfig = options.password
    ? { ...(parseIntoClientConfig(options.connectionString) as pg.ClientConfig), password: options.password }
    : { connectionString: options.connectionString };
  return { ...target, connectionTimeoutMillis: 5_000, options: SESSION_SETTINGS };
}

function rowsOf<Row>(result: pg.QueryResult): { rows: Row[] } {
  return { rows: result.rows as Row[] };
}

function statement(sql: string, params: readonly unknown[] | undefined, options: QueryOptions | undefined): pg.QueryConfig {
  return { text: sql, ...(params ? { values: params as unknown[] } : {}), ...(options?.name ? { name: options.name } : {}) };
}

/** A statement answered "current transaction is aborted": only the error before it tells why. */
const ABORTED = "25P02";

export function openPostgres(options: PostgresOptions): Database {
  const max = Math.max(2, options.maxConnections ?? 10);
  // One connection is the intake's (pipelined, below); the pool gets the rest.
  const pool = new pg.Pool({ ...clientConfig(options), max: max - 1 });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on("error", (error) => options.onIdleError?.(error));

  let intake: Promise<pg.Client> | null = null;
  let intakeBusy: Promise<unknown> = Promise.resolve();
  /** When the intake connection must forget its plans (PLAN_LIFETIME), counted in intake transactions. */
  const plans = planLifetime();

  /**
   * The intake's own connection in pipeline mode: the statements of one round trip go out
   * together instead of waiting for each other's answers. Opened on first use and again after
   * it broke.
   */
  function intakeClient(): Promise<pg.Client> {
    intake ??= (async () => {
      const client = new pg.Client({ ...clientConfig(options), pipeline: true } as pg.ClientConfig);
      client.on("error", (error) => {
        intake = null;
        options.onIdleError?.(error);
      });
      client.on("end", () => {
        intake = null;
      });
      try {
        await client.connect();
        // The intake's statements are prepared once per connection and run from generic plans,
        // made again as PLAN_LIFETIME (store/database.ts) says (DISCARD PLANS, below).
        await client.query("SET plan_cache_mode = force_generic_plan");
      } catch (error) {
        intake = null;
        await client.end().catch(() => undefined);
        throw error;
      }
      return client;
    })();
    return intake;
  }

  const query: Queryable["query"] = (sql, params, queryOptions) =>
    driverCall(async () => rowsOf(await pool.query(statement(sql, params, queryOptions))));

  async function pooledTransaction<T>(work: (tx: Transaction) => Promise<T>, settings?: Readonly<Record<string, string>>): Promise<T> {
    // BEGIN and the transaction's settings travel as one simple query: one round trip.
    const begin = ["BEGIN", ...setLocal(settings)].join("; ");
    const client = await driverCall(() => pool.connect());
    let broken: Error | undefined;
    // A checked-out client whose server goes away emits 'error'; unheard, it would kill the
    // process. The failing query rejects as well, which is what the caller sees.
    const onError = (error: Error) => {
      broken = error;
    };
    client.on("error", onError);
    const deferred: Array<Promise<unknown>> = [];
    const tx = transactionOn(client, deferred);
    try {
      await driverCall(() => client.query(begin));
      const result = await work(tx);
      await settle(deferred);
      await commit(client);
      return result;
    } catch (error) {
      broken ??= await rollback(client);
      throw error;
    } finally {
      client.off("error", onError);
      // A connection that broke or failed to roll back is in an unknown state: discard it.
      client.release(broken);
    }
  }

  async function pipelinedTransaction<T>(work: (tx: Transaction) => Promise<T>, settings?: Readonly<Record<string, string>>): Promise<T> {
    const sets = setLocal(settings);
    // One transaction at a time on the intake connection; the group commit sends one anyway.
    const previous = intakeBusy;
    let done!: () => void;
    intakeBusy = new Promise<void>((resolve) => (done = resolve));
    await previous;
    try {
      const client = await driverCall(intakeClient);
      const sent: Array<Promise<unknown>> = [];
      const coalesce = coalescing(client);
      const tx = transactionOn(client, sent, coalesce);
      // BEGIN travels with the first statements of the work: no round trip of its own.
      coalesce();
      // The connection forgets its plans; each statement's next execution makes one for the tables as they are now.
      if (plans.due()) sent.push(track(client.query("DISCARD PLANS")));
      sent.push(track(client.query("BEGIN")));
      for (const set of sets) sent.push(track(client.query(set)));
      try {
        const result = await work(tx);
        coalesce();
        const committed = track(client.query("COMMIT"));
        await settle(sent);
        await commitTag(committed);
        return result;
      } catch (error) {
        if (await rollback(client)) {
          intake = null;
          await client.end().catch(() => undefined);
        }
        throw error;
      }
    } finally {
      done();
    }
  }

  return {
    query,
    exec: (sql) => driverCall(async () => void (await pool.query(sql))),
    transaction: (work, transactionOptions) => (transactionOptions?.pipelined ? pipelinedTransaction(work, transactionOptions.settings) : pooledTransaction(work, transactionOptions?.settings)),
    async close() {
      await intakeBusy;
      const client = await intake?.catch(() => null);
      await client?.end().catch(() => undefined);
      await pool.end();
    },
  };
}

/** Marks a promise as observed (a pipelined failure must never be an unhandled rejection). */
function track<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * The statements a pipelined transaction sends in one turn of the event loop leave in one socket
 * write: the driver writes each statement on its own, and every write is a system call here and a
 * wake-up and a read for the server (a seventh of the receiver's CPU under load, by its profile).
 * Returns what to call before sending: the socket is corked until the current turn's promise
 * jobs have run, then written at once.
 */
function coalescing(client: pg.Client): () => void {
  const stream = (client as unknown as { connection: { stream: { cork?: () => void; uncork?: () => void } } }).connection.stream;
  let corked = false;
  return () => {
    if (corked || !stream.cork || !stream.uncork) return;
    corked = true;
    stream.cork();
    process.nextTick(() => {
      corked = false;
      stream.uncork!();
    });
  };
}

function transactionOn(client: Client, deferred: Array<Promise<unknown>>, beforeSend: () => void = () => undefined): Transaction {
  return {
    query: <Row>(sql: string, params?: readonly unknown[], options?: QueryOptions) => {
      beforeSend();
      const sent = track(client.query(statement(sql, params, options)));
      deferred.push(sent);
      return driverCall(async () => rowsOf<Row>(await sent));
    },
    exec: (sql) => {
      beforeSend();
      const sent = track(client.query(sql));
      deferred.push(sent);
      return driverCall(async () => void (await sent));
    },
    later: (sql, params, options) => {
      beforeSend();
      deferred.push(track(client.query(statement(sql, params, options))));
    },
  };
}

/** Waits for every statement sent; throws the first real failure (not the "aborted" echoes after it). */
async function settle(sent: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const outcomes = await Promise.allSettled(sent);
  const failures = outcomes.flatMap((o) => (o.status === "rejected" ? [storeError(o.reason)] : []));
  const first = failures.find((f) => !("sqlState" in f) || f.sqlState !== ABORTED) ?? failures[0];
  if (first) throw first;
}

async function commit(client: Client): Promise<void> {
  await commitTag(driverCall(() => client.query("COMMIT")));
}

/** PostgreSQL answers COMMIT of a failed transaction with the tag ROLLBACK, not with an error. */
async function commitTag(result: Promise<pg.QueryResult>): Promise<void> {
  const tag = (await driverCall(() => result)).command;
  if (tag !== "COMMIT") throw new StoreUnavailableError(new Error(`COMMIT answered ${tag}: the transaction was rolled back`));
}

/** Rolls back; returns the error when the connection is no longer usable. */
async function rollback(client: Client): Promise<Error | undefined> {
  try {
    await client.query("ROLLBACK");
    return undefined;
  } catch (error) {
    return error as Error;
  }
}
