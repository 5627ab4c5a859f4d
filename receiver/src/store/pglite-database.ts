import { fsyncSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { NodeFS } from "@electric-sql/pglite/nodefs";
import { driverCall, setLocal, storeError, type Database, type QueryOptions, type Transaction } from "./database.ts";

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
];

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
  return {
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
            query: (sql, params) => run(inner, sql, params),
            exec: (sql) => driverCall(async () => void (await inner.exec(sql))),
            later: (sql, params) => {
              const p = run(inner, sql, params);
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
