/**
 * Progress on stderr, one line per phase: `[7/24] closed loop, 20 connections, round 2/3: postgres:
 * 1,234 req/s …`, with the estimated time left for the whole run. On a terminal the current phase's
 * line is a live progress bar; in a log (not a TTY) long phases add a line every 10 s instead.
 *
 * The estimate starts from the plan and learns: once a phase of a kind (e.g. "the open loop on the
 * embedded store", which waits for a saturated target to drain) has run, the later phases of that
 * kind are expected to take as long as it did.
 */

const BAR_WIDTH = 24;
const LOG_EVERY_MS = 10_000;

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export interface PlannedPhase {
  seconds: number;
  /** Phases of one kind are expected to last alike. */
  kind: string;
}

export interface PhaseUpdate {
  /** Fraction of this phase done, 0..1. */
  (fraction: number, detail?: string): void;
}

export class Progress {
  private index = 0;
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly plan: PlannedPhase[];
  private readonly lastTook = new Map<string, number>();

  /** @param plan every phase's estimated length and kind, in the order they will run. */
  constructor(plan: PlannedPhase[]) {
    this.plan = plan;
  }

  private expected(phase: PlannedPhase): number {
    return this.lastTook.get(phase.kind) ?? phase.seconds;
  }

  private remainingAfter(index: number): number {
    return this.plan.slice(index + 1).reduce((sum, phase) => sum + this.expected(phase), 0);
  }

  /** Runs the next planned phase; `summarise` turns its result into the text after the label. */
  async phase<T>(label: string, work: (update: PhaseUpdate) => Promise<T>, summarise: (result: T) => string = () => "done"): Promise<T> {
    const index = this.index;
    const planned = this.plan[index];
    const prefix = `[${index + 1}/${this.plan.length}] ${label}`;
    const started = performance.now();
    let lastLog = started;
    const update: PhaseUpdate = (fraction, detail) => {
      const elapsed = (performance.now() - started) / 1000;
      // The phase's own pace once it has one, the expectation before that.
      const left = fraction > 0.02 ? (elapsed / fraction) * (1 - fraction) : Math.max(0, (planned ? this.expected(planned) : 0) - elapsed);
      const eta = `ETA ${duration(left + this.remainingAfter(index))}`;
      if (this.tty) {
        const filled = Math.round(Math.min(1, fraction) * BAR_WIDTH);
        process.stderr.write(`\r\x1b[2K${prefix} [${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${Math.round(fraction * 100)}%${detail ? ` ${detail}` : ""} ${eta}`);
      } else if (performance.now() - lastLog >= LOG_EVERY_MS) {
        lastLog = performance.now();
        process.stderr.write(`${prefix}: ${Math.round(fraction * 100)}%${detail ? ` ${detail}` : ""} ${eta}\n`);
      }
    };
    update(0);
    try {
      const result = await work(update);
      const took = (performance.now() - started) / 1000;
      if (planned) this.lastTook.set(planned.kind, took);
      this.index += 1;
      const eta = this.index < this.plan.length ? ` · ETA ${duration(this.remainingAfter(index))}` : "";
      process.stderr.write(`${this.tty ? "\r\x1b[2K" : ""}${prefix}: ${summarise(result)} (${duration(took)})${eta}\n`);
      return result;
    } catch (error) {
      if (this.tty) process.stderr.write("\n");
      throw error;
    }
  }
}
