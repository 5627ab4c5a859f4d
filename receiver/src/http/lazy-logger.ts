/**
 * Request loggers made on first use. Fastify gives every request a child of the receiver's logger
 * (and the alert route gives it a child of that, with the alertId), and pino serialises a child's
 * bindings when it is made: two children per alert (4.5 µs), at LOG_LEVEL=warn, where a request
 * that succeeds writes no line at all. A lazy logger makes its pino child when it first logs at a level
 * that is written, and writes through it exactly what that child would have written. Pino has no
 * such option (its children are made eagerly, by design: the bindings are serialised once for every
 * later line). A class, so that a request's logger is one small object and its methods the
 * prototype's (0.2 µs for both): made with closures per request it cost twice pino's children.
 */
import type { FastifyBaseLogger } from "fastify";
import { levels, type Bindings, type ChildLoggerOptions, type LogFn } from "pino";

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
type Level = (typeof LEVELS)[number];

/** A level's number; `silent` (and anything unknown) writes nothing. */
const rank = (level: string): number => levels.values[level] ?? Number.POSITIVE_INFINITY;

class LazyLogger implements FastifyBaseLogger {
  // One method per level on the prototype, each writing through `line` (below the class).
  declare fatal: LogFn;
  declare error: LogFn;
  declare warn: LogFn;
  declare info: LogFn;
  declare debug: LogFn;
  declare trace: LogFn;
  private made: FastifyBaseLogger | undefined;
  private readonly parent: FastifyBaseLogger;
  private readonly bindings: Bindings;
  private readonly options: ChildLoggerOptions;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.parent = parent;
    this.bindings = bindings;
    this.options = options;
  }

  /** The pino child, made from the parent's (a lazy parent makes its own first). */
  private real(): FastifyBaseLogger {
    const parent = this.parent instanceof LazyLogger ? this.parent.real() : this.parent;
    return (this.made ??= parent.child(this.bindings, this.options));
  }

  line(level: Level, args: unknown[]): void {
    if (rank(level) >= rank(this.level)) (this.real()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real().level = level;
  }

  silent(): void {}

  child(bindings: Bindings, options: ChildLoggerOptions = {}): FastifyBaseLogger {
    return this.made ? this.made.child(bindings, options) : new LazyLogger(this, bindings, options);
  }
}

for (const level of LEVELS) {
  Object.defineProperty(LazyLogger.prototype, level, {
    value(this: LazyLogger, ...args: unknown[]) {
      this.line(level, args);
    },
  });
}

export function lazyChild(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions = {}): FastifyBaseLogger {
  return new LazyLogger(parent, bindings, options);
}
