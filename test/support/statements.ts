/** The statements a piece of ledger code sends in its transactions, written down as they are sent. */
import type { Database, Transaction } from "../../receiver/src/store/database.ts";

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
