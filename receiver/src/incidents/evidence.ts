/**
 * Log evidence (docs/incidents.md#log-evidence): the rows a log search alert found, as the receiver
 * fetched them from the alert's link, and the plain-text table a ticket gets. Pure.
 */

/** The most rows and bytes (JSON of the rows kept) an incident keeps: enough to see why it fired, never a dump. */
export const EVIDENCE_MAX_ROWS = 50;
export const EVIDENCE_MAX_BYTES = 64 * 1024;

export interface EvidenceTable {
  /** The host the rows came from (api.loganalytics.io). */
  source: string;
  columns: Array<{ name: string; type: string }>;
  rows: unknown[][];
  /** The query found more rows than were kept (more than EVIDENCE_MAX_ROWS, or past EVIDENCE_MAX_BYTES). */
  truncated: boolean;
}

/** What became of an incident's evidence; every outcome but `stored` says why in words. */
export type EvidenceOutcome =
  | { state: "stored"; table: EvidenceTable }
  | { state: "refused"; reason: string }
  | { state: "failed"; reason: string }
  | { state: "none"; reason: string };

/** Keeps the first rows that fit both caps; `truncated` when any were left out. */
export function boundRows(columns: EvidenceTable["columns"], rows: readonly unknown[][], source: string, more = false): EvidenceTable {
  const kept: unknown[][] = [];
  let bytes = 2;
  for (const row of rows) {
    if (kept.length === EVIDENCE_MAX_ROWS) break;
    const size = Buffer.byteLength(JSON.stringify(row), "utf8") + 1;
    if (bytes + size > EVIDENCE_MAX_BYTES) break;
    kept.push(row);
    bytes += size;
  }
  return { source, columns, rows: kept, truncated: more || kept.length < rows.length };
}

/** Columns shown, and the widest a cell gets: a ticket's text field is read in a proportional font too. */
const SHOWN_COLUMNS = 12;
const CELL_WIDTH = 40;

function cellText(value: unknown): string {
  const raw = value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  // One line per row: a newline or tab in a cell would break the table.
  const flat = raw.replace(/[\u0000-\u001f\u007f]+/g, " ");
  return flat.length > CELL_WIDTH ? `${flat.slice(0, CELL_WIDTH - 1)}…` : flat;
}

/**
 * The rows as a plain-text table with a heading that says where they came from and what was left out:
 *
 *     Log search results (2 rows, from api.loganalytics.io):
 *     Computer | Count
 *     -------- | -----
 *     vm-1     | 3
 */
export function evidenceText(table: EvidenceTable): string {
  const columns = table.columns.slice(0, SHOWN_COLUMNS);
  const hidden = table.columns.length - columns.length;
  const rows = `${table.rows.length} row${table.rows.length === 1 ? "" : "s"}`;
  const count = table.truncated ? `the first ${rows}; the query found more` : rows;
  const heading = `Log search results (${count}, from ${table.source})${hidden > 0 ? `; ${hidden} more column${hidden === 1 ? "" : "s"} not shown` : ""}:`;
  if (table.rows.length === 0) return `${heading}\n(no rows)`;
  const cells = [columns.map((c) => cellText(c.name)), ...table.rows.map((row) => columns.map((_, i) => cellText(row[i])))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join(" | ").trimEnd();
  return [heading, line(cells[0]!), widths.map((w) => "-".repeat(w)).join(" | "), ...cells.slice(1).map(line)].join("\n");
}

/**
 * The link whose rows a log search alert V2 found: its first condition's
 * `linkToFilteredSearchResultsAPI` (the rows of this alert's dimensions), else
 * `linkToSearchResultsAPI`; null when the payload has none. Not checked here: any host may be in it.
 */
export function evidenceLink(payload: unknown): string | null {
  const allOf = (payload as { data?: { alertContext?: { condition?: { allOf?: unknown } } } } | null)?.data?.alertContext?.condition?.allOf;
  if (!Array.isArray(allOf)) return null;
  for (const condition of allOf as Array<Record<string, unknown> | null>) {
    const link = condition?.linkToFilteredSearchResultsAPI ?? condition?.linkToSearchResultsAPI;
    if (typeof link === "string" && link.trim()) return link.trim();
  }
  return null;
}

/** The host a link names, for the record of a refusal; null when it is no URL. */
export function linkHost(link: string): string | null {
  try {
    return new URL(link).host || null;
  } catch {
    return null;
  }
}
