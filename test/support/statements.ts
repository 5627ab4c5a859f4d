/** The statements a piece of ledger code sends in its transactions, written down as they are sent. */
import type { Database, QueryOptions, Transaction } from "../../receiver/src/store/database.ts";

export interface SentStatement {
  sql: string;
  params: readonly unknown[];
  /** The statement's name (QueryOptions.name), when it has one. */
  name?: string;
  /** Sent with `later`: it runs with the transaction's other deferred writes. */
  deferred: boolean;
}

/** `db` as the code under test sees it, and every statement its transactions send, in order. */
export function recordingStatements(db: Database): { db: Database; statements: SentStatement[] } {
  const statements: SentStatement[] = [];
  const spy = (tx: Transaction): Transaction => ({
    ...tx,
    query: (sql, params = [], options) => {
      statements.push({ sql, params, name: options?.name, deferred: false });
      return tx.query(sql, params, options);
    },
    later: (sql, params = [], options) => {
      statements.push({ sql, params, name: options?.name, deferred: true });
      tx.later(sql, params, options);
    },
  });
  return { db: { ...db, transaction: (work, options) => db.transaction((tx) => work(spy(tx)), options) }, statements };
}

/**
 * `db` as the code under test sees it, with `observe` told each statement's answer as its
 * transaction received it (and given the transaction, to read more in it before the code goes on).
 */
export function observingAnswers(db: Database, observe: (tx: Transaction, sql: string, options: QueryOptions | undefined, rows: readonly unknown[]) => void | Promise<void>): Database {
  return {
    ...db,
    transaction: (work, options) =>
      db.transaction(
        (tx) =>
          work({
            ...tx,
            query: async <Row,>(sql: string, params?: readonly unknown[], queryOptions?: QueryOptions) => {
              const result = await tx.query<Row>(sql, params, queryOptions);
              await observe(tx, sql, queryOptions, result.rows);
              return result;
            },
          }),
        options,
      ),
  };
}
