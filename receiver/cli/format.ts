/**
 * Plain-text tables and values for the terminal. Hand-written because it is a few lines: column
 * widths, and the widest column shortened when a terminal is too narrow (never when piped).
 */

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** May be shortened (with an ellipsis) to fit the terminal. */
  shrink?: boolean;
}

const MIN_SHRUNK = 12;

export function table<T>(rows: readonly T[], columns: readonly Column<T>[], width = process.stdout.isTTY ? process.stdout.columns : Infinity): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row).replace(/\s+/g, " ")));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((r) => r[i]!.length)));
  const total = () => widths.reduce((sum, w) => sum + w, 0) + 2 * (columns.length - 1);
  while (total() > width) {
    const candidates = columns.map((c, i) => (c.shrink && widths[i]! > MIN_SHRUNK ? i : -1)).filter((i) => i >= 0);
    if (candidates.length === 0) break;
    const widest = candidates.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
    widths[widest] = Math.max(MIN_SHRUNK, widths[widest]! - (total() - width));
  }
  const fit = (text: string, w: number) => (text.length > w ? `${text.slice(0, w - 1)}…` : text.padEnd(w));
  const line = (values: string[]) => values.map((v, i) => fit(v, widths[i]!)).join("  ").trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join("\n");
}

/** `2026-11-25 14:13:05Z`: UTC, to the second, the same for everyone reading a shared transcript. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "-";
  return new Date(iso).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, "Z");
}

/** `key   value` lines with the keys aligned. */
export function fields(entries: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join("\n");
}
