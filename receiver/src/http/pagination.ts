/** Keyset pages: an opaque cursor (base64url JSON of the last item's sort key) and the next one. */

export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** The cursor's key, null when it is not one this API returned (a 400, never a query the store refuses). */
export function decodeCursor<T>(cursor: string, valid: (value: unknown) => value is T): T | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    return valid(value) ? value : null;
  } catch {
    return null;
  }
}

/** A full page has a next one (perhaps empty); a short page is the last. */
export function page<T, U>(items: readonly T[], limit: number, keyOf: (last: T) => unknown, present: (item: T) => U): { items: U[]; nextCursor: string | null } {
  const last = items.at(-1);
  return { items: items.map(present), nextCursor: last !== undefined && items.length === limit ? encodeCursor(keyOf(last)) : null };
}
