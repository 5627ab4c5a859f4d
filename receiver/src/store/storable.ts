/**
 * Values as PostgreSQL (and so both stores) can hold them: text without NUL or lone surrogates,
 * and times within the years 0001-9999 in UTC. The intake and the API's filters both go through
 * these, so nothing either takes in can fail the store on its form.
 */

const EARLIEST = Date.parse("0001-01-01T00:00:00.000Z");
const LATEST = Date.parse("9999-12-31T23:59:59.999Z");

/** UTC ISO 8601 of a date-time Ajv accepted (any offset, a leap second), or null when no store could hold it. */
export function utcTime(value: string): string | null {
  // RFC 3339 allows a leap second (:60), which JavaScript dates do not: it is the last instant of that minute.
  const ms = Date.parse(value.replace(/:60(?=(\.\d+)?([zZ]|[+-]\d\d:\d\d)$)/, ":59.999"));
  if (Number.isNaN(ms) || ms < EARLIEST || ms > LATEST) return null;
  return new Date(ms).toISOString();
}

const NUL = /\u0000/g;

/** Text as the ledger can store it: NUL and lone surrogates become U+FFFD. */
export function storableText(value: string): string {
  const wellFormed = value.isWellFormed() ? value : value.toWellFormed();
  return wellFormed.includes("\u0000") ? wellFormed.replace(NUL, "\uFFFD") : wellFormed;
}

