/**
 * Globs over Azure ids and names: `*` is any run of characters, `?` is one character, and the
 * comparison ignores case (ARM ids are case-insensitive and Azure sends them in mixed casing).
 *
 * Written here rather than taken from picomatch or minimatch on purpose: those treat `/` as a path
 * separator (`*` would not match across `microsoft.sql/servers/databases`) and add brace, class
 * and extglob syntax that an id never needs. Two wildcards and escaping everything else is the
 * whole job, and refusing the other syntax keeps a pattern meaning what it looks like.
 */

export interface Glob {
  /** The pattern as written, for explanations. */
  readonly pattern: string;
  readonly wildcard: boolean;
  test(value: string): boolean;
}

const UNSUPPORTED = /[[\]{}]/;

/** Why a pattern cannot be used, or null when it can. */
export function globProblem(pattern: string): string | null {
  if (pattern.trim() === "") return "must not be empty";
  if (pattern !== pattern.trim()) return `must not start or end with spaces, got ${JSON.stringify(pattern)}`;
  if (UNSUPPORTED.test(pattern)) {
    return `uses ${JSON.stringify(pattern.match(UNSUPPORTED)![0])}, which is not supported: patterns know only * (any run of characters) and ? (one character); list alternatives as separate entries`;
  }
  return null;
}

export function compileGlob(pattern: string): Glob {
  const source = pattern
    .split("")
    .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")))
    .join("");
  const regex = new RegExp(`^${source}$`, "is");
  return { pattern, wildcard: /[*?]/.test(pattern), test: (value) => regex.test(value) };
}
