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
import { levels, type Bindings, type ChildLoggerOptions } from "pino";

type Level = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

/** A level's number; `silent` (and anything unknown) writes nothing. */
const rank = (level: string): number => levels.values[level] ?? Number.POSITIVE_INFINITY;

class LazyLogger implements FastifyBaseLogger {
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

  private line(level: Level, args: unknown[]): void {
    if (rank(level) >= rank(this.level)) (this.real()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real().level = level;
  }

  fatal(...args: unknown[]): void {
    this.line("fatal", args);
  }
  error(...args: unknown[]): void {
    this.line("error", args);
  }
  warn(...args: unknown[]): void {
    this.line("warn", args);
  }
  info(...args: unknown[]): void {
    this.line("info", args);
  }
  debug(...args: unknown[]): void {
    this.line("debug", args);
  }
  trace(...args: unknown[]): void {
    this.line("trace", args);
  }
  silent(): void {}

  child(bindings: Bindings, options: ChildLoggerOptions = {}): FastifyBaseLogger {
    return this.made ? this.made.child(bindings, options) : new LazyLogger(this, bindings, options);
  }
}

export function lazyChild(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions = {}): FastifyBaseLogger {
  return new LazyLogger(parent, bindings, options);
}
