/**
 * Globs over Azure ids and names: `*` is any run of characters, `?` is one character, and the
 * comparison ignores case (ARM ids are case-insensitive and Azure sends them in mixed casing).
 *
 * Written here rather than taken from picomatch or minimatch on purpose: those treat `/` as a path
 * separator (`*` would not match across `microsoft.sql/servers/databases`) and add brace, class
 * and extglob syntax that an id never needs. Two wildcards and escaping everything else is the
 * whole job, and refusing the other syntax keeps a pattern meaning what it looks like.
 *
 * Nor is a pattern compiled to a RegExp: V8's engine backtracks, so `*-*-*-*-*-*-x` against an
 * alert rule named with 90 hyphens took 10-27 s of the receiver's only thread, and whoever names
 * alert rules in the tenant chooses that input. The matcher below splits the pattern at its stars
 * and finds each piece leftmost, which is all a star-only glob needs: every character of the input
 * is compared at most once per pattern character, so the work is linear in the input.
 */

export interface Glob {
  /** The pattern as written, for explanations. */
  readonly pattern: string;
  readonly wildcard: boolean;
  /** `work.steps` (when given) is increased by the character comparisons made. */
  test(value: string, work?: { steps: number }): boolean;
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

/**
 * Case folded one UTF-16 unit at a time, so `?` still stands for exactly one unit of the input
 * (a unit whose lower case is longer, like "İ", is kept as it is).
 */
function fold(text: string): string {
  const lower = text.toLowerCase();
  if (lower.length === text.length) return lower;
  let folded = "";
  for (const unit of text.split("")) {
    const l = unit.toLowerCase();
    folded += l.length === 1 ? l : unit;
  }
  return folded;
}

/** Does `piece` (where `?` is any unit) match `text` at `at`? */
function matchesAt(text: string, at: number, piece: string, work: { steps: number }): boolean {
  for (let i = 0; i < piece.length; i += 1) {
    work.steps += 1;
    if (piece[i] !== "?" && piece[i] !== text[at + i]) return false;
  }
  return true;
}

/** The leftmost place in text[from, end) where `piece` matches whole, or -1. */
function find(text: string, from: number, end: number, piece: string, work: { steps: number }): number {
  for (let at = from; at + piece.length <= end; at += 1) if (matchesAt(text, at, piece, work)) return at;
  return -1;
}

export function compileGlob(pattern: string): Glob {
  // The pieces between stars; an exact pattern is one piece.
  const pieces = fold(pattern).split("*");
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1).filter((piece) => piece !== "");
  const test = (value: string, work: { steps: number } = { steps: 0 }): boolean => {
    const text = fold(value);
    if (pieces.length === 1) return text.length === first.length && matchesAt(text, 0, first, work);
    if (text.length < first.length + last.length) return false;
    if (!matchesAt(text, 0, first, work) || !matchesAt(text, text.length - last.length, last, work)) return false;
    // Each middle piece at its leftmost place after the previous one: if any placement works, this one does.
    let at = first.length;
    const end = text.length - last.length;
    for (const piece of middle) {
      const found = find(text, at, end, piece, work);
      if (found < 0) return false;
      at = found + piece.length;
    }
    return true;
  };
  return { pattern, wildcard: /[*?]/.test(pattern), test };
}
