import { fsyncSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { parse, PGlite, protocol, type messages } from "@electric-sql/pglite";
import { NodeFS } from "@electric-sql/pglite/nodefs";
import { driverCall, planLifetime, setLocal, storeError, type Database, type QueryOptions, type Transaction } from "./database.ts";

/** Counts the flushes to disk the embedded engine asked for (tests and metrics read it). */
export interface FlushCounter {
  flushes: number;
}

/**
 * PGlite's Node file system with a working fsync. PGlite starts PostgreSQL with fsync off (`-F`),
 * its WASM libc makes fdatasync a no-op, and Emscripten's NODEFS has no fsync stream operation: a
 * commit reaches the page cache but never the disk, so a power loss or VM stop would lose
 * acknowledged alerts. With fsync on and wal_sync_method=fsync, PostgreSQL calls fsync on the WAL
 * at every commit; this makes that call reach the real file.
 */
class DurableNodeFS extends NodeFS {
  private readonly counter: FlushCounter;
  constructor(dataDir: string, counter: FlushCounter) {
    super(dataDir);
    this.counter = counter;
  }

  override async init(pg: PGlite, opts: Parameters<NodeFS["init"]>[1]) {
    const result = await super.init(pg, opts);
    const counter = this.counter;
    const preRun = result.emscriptenOpts.preRun ?? [];
    result.emscriptenOpts.preRun = [
      ...preRun,
      (mod) => {
        const ops = (mod.NODEFS as unknown as { stream_ops: Record<string, unknown> }).stream_ops;
        ops.fsync = (stream: { nfd: number }) => {
          fsyncSync(stream.nfd);
          counter.flushes += 1;
          return 0;
        };
      },
    ];
    return result;
  }
}

// PGlite's own start parameters, minus `-F` (fsync off), with the one sync method whose call
// reaches the file system layer (fdatasync and open_datasync are no-ops there).
const DURABLE_START_PARAMS = [
  ...PGlite.defaultStartParams.filter((p) => p !== "-F"),
  "-c", "fsync=on",
  "-c", "wal_sync_method=fsync",
  // Like a server, UTC whatever the host's zone, so ordering and cursors are the same on both stores.
  "-c", "TimeZone=UTC",
  // Named statements run from generic plans, each made again as PLAN_LIFETIME says (store/database.ts).
  "-c", "plan_cache_mode=force_generic_plan",
];

interface Prepared {
  name: string;
  text: string;
  /** When the statement must be parsed again, to make its plan again (PLAN_LIFETIME). */
  lifetime: ReturnType<typeof planLifetime>;
  paramTypes: number[];
  /** The statement's row description (none for a statement without rows), put before each execution's rows. */
  rowDescription: messages.RowDescriptionMessage | undefined;
}

/**
 * Named statements on the embedded engine, which PGlite's `query` does not have: it parses and
 * analyses every statement anew and crosses into the engine six times for it (parse, describe,
 * bind, describe, execute, sync). A statement the hot path names (QueryOptions.name, the same text
 * every time) is parsed once per engine, like PostgreSQL's named statements, and then bound and
 * executed in one crossing: 340 against 170 µs for locking a batch's groups with custom plans
 * (docs/performance.md), and its plan kept as PLAN_LIFETIME says. Built from PGlite's own protocol
 * serializer and result parser; only inside a transaction, whose statements the engine's query lock
 * keeps in order.
 */
function preparedStatements(db: PGlite) {
  const byText = new Map<string, Prepared>();
  const serialize = protocol.serialize;

  async function prepare(sql: string): Promise<Prepared> {
    const name = `se_${byText.size + 1}`;
    const { messages: described } = await db.execProtocol(Buffer.concat([serialize.parse({ name, text: sql }), serialize.describe({ type: "S", name }), serialize.sync()]), { syncToFs: false });
    const params = described.find((m): m is messages.ParameterDescriptionMessage => m.name === "parameterDescription");
    const rows = described.find((m): m is messages.RowDescriptionMessage => m.name === "rowDescription");
    const prepared = { name, text: sql, lifetime: planLifetime(), paramTypes: params?.dataTypeIDs ?? [], rowDescription: rows };
    byText.set(sql, prepared);
    return prepared;
  }

  // Kept for the engine's life, like a connection's: names are only for the hot path's few fixed texts (QueryOptions.name).
  return (sql: string, params: readonly unknown[] | undefined): Promise<Array<Record<string, unknown>>> =>
    db.runExclusive(async () => {
      const statement = byText.get(sql) ?? (await prepare(sql));
      const values = (params ?? []).map((value, i) => {
        if (value === null || value === undefined) return null;
        const serializer = db.serializers[statement.paramTypes[i]!];
        return serializer ? serializer(value) : String(value);
      });
      // Closed and parsed again in the same crossing: the engine forgets its plan and makes one for the tables as they are now.
      const again = statement.lifetime.due() ? [serialize.close({ type: "S", name: statement.name }), serialize.parse({ name: statement.name, text: statement.text })] : [];
      const { messages: answered } = await db
        .execProtocol(Buffer.concat([...again, serialize.bind({ statement: statement.name, values }), serialize.execute({}), serialize.sync()]), { syncToFs: false })
        .catch((error: unknown) => {
          // Whatever failed (a parse after the schema changed included), the next execution starts from a fresh parse.
          statement.lifetime.expire();
          throw error;
        });
      const [result] = parse.parseResults(statement.rowDescription ? [statement.rowDescription, ...answered] : answered, db.parsers);
      return (result?.rows ?? []) as Array<Record<string, unknown>>;
    });
}

/** The embedded store: PostgreSQL compiled to WebAssembly, persisted in `dataDir` (memory when undefined). */
export async function openPglite(dataDir: string | undefined, counter: FlushCounter = { flushes: 0 }): Promise<Database> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const db = await driverCall(() =>
    PGlite.create(dataDir ? { fs: new DurableNodeFS(dataDir, counter), startParams: DURABLE_START_PARAMS } : { startParams: DURABLE_START_PARAMS }),
  );
  // PGlite has one connection and serialises transactions itself; statements run in-process, so
  // there is nothing to pipeline and `later` simply runs in order.
  const run = <Row>(q: Pick<PGlite, "query">, sql: string, params: readonly unknown[] | undefined) =>
    driverCall(async () => ({ rows: (await q.query<Row>(sql, params as unknown[] | undefined)).rows }));
  const named = preparedStatements(db);
  const runInTransaction = <Row>(inner: Pick<PGlite, "query">, sql: string, params: readonly unknown[] | undefined, options: QueryOptions | undefined) =>
    options?.name ? driverCall(async () => ({ rows: (await named(sql, params)) as Row[] })) : run<Row>(inner, sql, params);
  return {
    // Outside a transaction a named statement would also need PGlite's transaction lock: unnamed.
    query: (sql, params, _options?: QueryOptions) => run(db, sql, params),
    exec: (sql) => driverCall(async () => void (await db.exec(sql))),
    async transaction(work, options) {
      const settings = setLocal(options?.settings);
      // Errors of the caller's own code pass through as they are; only PGlite's (BEGIN, COMMIT,
      // the engine itself) are store errors.
      let ownError: { error: unknown } | null = null;
      try {
        return await db.transaction(async (inner) => {
          const pending: Array<Promise<unknown>> = [];
          const tx: Transaction = {
            query: (sql, params, queryOptions) => runInTransaction(inner, sql, params, queryOptions),
            exec: (sql) => driverCall(async () => void (await inner.exec(sql))),
            later: (sql, params, queryOptions) => {
              const p = runInTransaction(inner, sql, params, queryOptions);
              p.catch(() => undefined);
              pending.push(p);
            },
          };
          for (const set of settings) await inner.exec(set);
          try {
            const result = await work(tx);
            for (const p of pending) await p;
            return result;
          } catch (error) {
            ownError = { error };
            throw error;
          }
        });
      } catch (error) {
        if (ownError && (ownError as { error: unknown }).error === error) throw error;
        throw storeError(error);
      }
    },
    close: () => db.close(),
  };
}
