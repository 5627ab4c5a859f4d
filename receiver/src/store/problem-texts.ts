/**
 * The long text of problem rows — the routing explanation, the description, the listed members and
 * pending lines: 8–10 kB of a 9–10 kB row in a storm — as this process last read or wrote it, by
 * row version. In a storm every intake batch locks the same few problems and changes only their
 * counters; handing over their long columns again was most of the cost of locking them (on the
 * embedded store, the engine's JSON output of about 400 µs a batch). The lock statements
 * (store/noise.ts) leave a column out only for a row version this process holds.
 *
 * A row version is `id/xmin`: the id of the transaction that wrote the row as it is now. A row any
 * other transaction wrote since (a noise timer, a resolve, another replica, a replica of an older
 * release) has another version and is read whole, so what is held is never stale; a version held
 * and not asked about is only a miss. After its commit the intake records what it wrote as its own
 * transaction's version, so the next batch needs none of it again. (A 32-bit transaction id comes
 * round again after about four billion transactions; a version is held only while its problem stays
 * among the few most recently used, so a collision would need that problem written at exactly that
 * id by another transaction, with this entry still held.)
 */
import { fromJson, problemParts, type LongTextColumn, type StoredIncident } from "./incidents.ts";

/** A row's long columns as the driver returns them (incidentFromRow reads them from here). */
export type ProblemText = Readonly<Record<LongTextColumn, unknown>>;

/** Problems whose text one process holds: a storm or a busy group touches a few at a time. */
const HELD = 32;

/** Held text is shared by the incidents read from it: frozen, so that a change in place fails loudly instead of changing a later read. */
function frozen<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) frozen(inner);
  }
  return value;
}

/** What jsonb gives back for a value written as JSON. */
const stored = (value: unknown): unknown => (value === null || value === undefined ? null : frozen(JSON.parse(JSON.stringify(value))));

export class ProblemTexts {
  readonly #byId = new Map<string, { version: string; text: ProblemText }>();

  /** A transaction's view: the versions held when it starts. */
  begin(): ProblemTextReads {
    return new ProblemTextReads(this, new Map([...this.#byId].map(([id, { version, text }]) => [`${id}/${version}`, text])));
  }

  remember(id: string, version: string, text: ProblemText): void {
    this.#byId.delete(id);
    this.#byId.set(id, { version, text });
    if (this.#byId.size > HELD) this.#byId.delete(this.#byId.keys().next().value!);
  }
}

/** The lock statements' extra columns (store/noise.ts): whether the version is held, the version, and the writing transaction's own id. */
export interface VersionedRow {
  known: boolean;
  version: string;
  writer: string;
  routing: unknown;
  description: string | null;
  problem_lines: unknown;
}

/** One transaction's use of the held text: what it may leave out, what it read, and what it wrote. */
export class ProblemTextReads {
  /** This transaction's id as the versions of the rows it writes show it (their xmin); known once a lock statement returned a row. */
  #writer: string | null = null;
  /** Problems' text as this transaction locked them, by id. */
  readonly #read = new Map<string, ProblemText>();

  readonly #texts: ProblemTexts;
  /** The versions held when the transaction began, with their text. */
  readonly #held: ReadonlyMap<string, ProblemText>;

  constructor(texts: ProblemTexts, held: ReadonlyMap<string, ProblemText>) {
    this.#texts = texts;
    this.#held = held;
  }

  /** The versions a lock statement may leave the long columns out of. */
  known(): string[] {
    return [...this.#held.keys()];
  }

  /** A locked row whole: its long columns from the held text when the statement left them out. */
  fill<Row extends VersionedRow & { id: string }>(row: Row): Row {
    this.#writer = row.writer;
    // The routing parsed once (it is stored as a JSON string: store/ledger-writes.ts), not with every batch that locks the problem.
    const text: ProblemText | undefined = row.known ? this.#held.get(`${row.id}/${row.version}`) : { routing: frozen(fromJson(row.routing)), description: row.description, problem_lines: frozen(row.problem_lines) };
    // Asked with the versions held when this transaction began: a known row is always among them.
    if (!text) throw new Error(`problem ${row.id}: version ${row.version} was left out but is not held`);
    this.#read.set(row.id, text);
    this.#texts.remember(row.id, row.version, text);
    return { ...row, routing: text.routing, description: text.description as string | null, problem_lines: text.problem_lines };
  }

  /**
   * After the commit: the problems this transaction wrote now have its version. One it created or
   * whose text it wrote holds what was written; one whose text it kept (`sameText`), what it read.
   */
  committed(writes: { inserted: Iterable<StoredIncident>; updated: Iterable<StoredIncident>; sameText: ReadonlySet<string> }): void {
    const writer = this.#writer;
    if (writer === null) return;
    const written = (problem: StoredIncident, routing: unknown): ProblemText => ({
      routing,
      description: problem.description,
      problem_lines: stored(problemParts(problem.problem!).lines),
    });
    for (const problem of writes.inserted) if (problem.problem) this.#texts.remember(problem.id, writer, written(problem, stored(problem.routing)));
    for (const problem of writes.updated) {
      const read = this.#read.get(problem.id);
      // Not locked through this view (another statement locked it): the next lock reads it whole.
      if (!problem.problem || !read) continue;
      this.#texts.remember(problem.id, writer, writes.sameText.has(problem.id) ? read : written(problem, read.routing));
    }
  }
}

const byDatabase = new WeakMap<object, ProblemTexts>();

/** The text one database's problems have in this process. */
export function problemTextsOf(db: object): ProblemTexts {
  let texts = byDatabase.get(db);
  if (!texts) byDatabase.set(db, (texts = new ProblemTexts()));
  return texts;
}
