import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { guarded, type Database, type Queryable } from "./database.ts";

export interface PostgresOptions {
  connectionString: string;
  maxConnections?: number;
  /** Called for every new connection (e.g. an Entra access token); unset: the URL's password. */
  password?: () => Promise<string>;
  onIdleError?: (error: Error) => void;
}

export function openPostgres(options: PostgresOptions): Database {
  const pool = new pg.Pool({
    // pg lets the URL's (empty) password override a password function: parse the URL here instead.
    ...(options.password ? { ...parseIntoClientConfig(options.connectionString), password: options.password } : { connectionString: options.connectionString }),
    max: options.maxConnections ?? 10,
    // Fail fast when the server is gone: Azure retries a 503 sooner than it waits for us.
    connectionTimeoutMillis: 5_000,
    statement_timeout: 15_000,
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on("error", (error) => options.onIdleError?.(error));

  const query: Queryable["query"] = (sql, params) =>
    guarded(async () => {
      const result = await pool.query(sql, params as unknown[] | undefined);
      return { rows: result.rows };
    });

  return {
    kind: "postgres",
    query,
    exec: (sql) => guarded(async () => void (await pool.query(sql))),
    async transaction(work) {
      return guarded(async () => {
        const client = await pool.connect();
        let broken: Error | undefined;
        // A checked-out client whose server goes away emits 'error'; unheard, it would kill the
        // process. The failing query rejects as well, which is what the caller sees.
        const onError = (error: Error) => {
          broken = error;
        };
        client.on("error", onError);
        try {
          await client.query("BEGIN");
          const tx: Queryable = {
            query: async (sql, params) => ({ rows: (await client.query(sql, params as unknown[] | undefined)).rows }),
            exec: async (sql) => void (await client.query(sql)),
          };
          const result = await work(tx);
          await client.query("COMMIT");
          return result;
        } catch (error) {
          try {
            await client.query("ROLLBACK");
          } catch (rollbackError) {
            broken = rollbackError as Error;
          }
          throw error;
        } finally {
          client.off("error", onError);
          // A connection that broke or failed to roll back is in an unknown state: discard it.
          client.release(broken);
        }
      });
    },
    close: () => pool.end(),
  };
}
