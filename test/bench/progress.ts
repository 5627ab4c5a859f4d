/**
 * Progress on stderr, one line per phase: `[7/24] closed c=20 round 2/3 postgres … 1,234 req/s`,
 * with the estimated time left for the whole run. On a terminal the current phase's line is a live
 * progress bar; in a log (not a TTY) long phases add a line every 10 s instead of redrawing.
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

export interface PhaseUpdate {
  /** Fraction of this phase done, 0..1. */
  (fraction: number, detail?: string): void;
}

export class Progress {
  private index = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  private readonly plannedSeconds: number[];

  /** @param plannedSeconds the estimate of every phase's length, in order. */
  constructor(plannedSeconds: number[]) {
    this.plannedSeconds = [...plannedSeconds];
  }

  /** Corrects a later phase's estimate (e.g. a preload whose rate is now known). */
  replan(phase: number, seconds: number): void {
    this.plannedSeconds[phase] = seconds;
  }

  get phaseCount(): number {
    return this.plannedSeconds.length;
  }

  /** Runs one planned phase; `summarise` turns its result into the text after the label. */
  async phase<T>(label: string, work: (update: PhaseUpdate) => Promise<T>, summarise: (result: T) => string = () => "done"): Promise<T> {
    const number = this.index + 1;
    const planned = this.plannedSeconds[this.index] ?? 0;
    const prefix = `[${number}/${this.plannedSeconds.length}] ${label}`;
    const started = performance.now();
    let lastLog = started;
    const remainingAfter = () => this.plannedSeconds.slice(this.index + 1).reduce((a, b) => a + b, 0);
    const update: PhaseUpdate = (fraction, detail) => {
      const elapsed = (performance.now() - started) / 1000;
      // The phase's own rate once it has one, the plan before that.
      const phaseLeft = fraction > 0.02 ? (elapsed / fraction) * (1 - fraction) : Math.max(0, planned - elapsed);
      const eta = `ETA ${duration(phaseLeft + remainingAfter())}`;
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
      this.index += 1;
      const eta = this.index < this.plannedSeconds.length ? ` · ETA ${duration(remainingAfter() + (this.plannedSeconds[this.index] ?? 0))}` : "";
      process.stderr.write(`${this.tty ? "\r\x1b[2K" : ""}${prefix}: ${summarise(result)} (${duration(took)})${eta}\n`);
      return result;
    } catch (error) {
      if (this.tty) process.stderr.write("\n");
      throw error;
    }
  }
}
