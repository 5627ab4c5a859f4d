/**
 * Everything the bench starts, and its removal on every way out: success, an exception, a child
 * that dies, SIGINT or SIGTERM. Children are started in their own process group, so a Ctrl-C at the
 * terminal reaches only the bench, which then stops them in order (SIGTERM, then SIGKILL after a
 * grace period), drops its database and removes its temporary directories. A SIGKILL of the bench
 * itself cannot be caught by any process; that is the one case that leaves children behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

const OUTPUT_TAIL_BYTES = 16_384;
const STOP_GRACE_MS = 5_000;

export interface Child {
  name: string;
  pid: number;
  /** The last lines the child wrote (stdout and stderr together), for error messages. */
  output(): string;
  /** Resolves when the child has exited. */
  exited: Promise<void>;
}

export class Interrupted extends Error {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.signal = signal;
  }
}

export class Supervisor {
  private readonly children = new Map<ChildProcess, Child>();
  private readonly cleanups: Array<{ name: string; run: () => Promise<void> }> = [];
  private readonly tempDirs = new Set<string>();
  private readonly controller = new AbortController();
  private stopping = false;
  private interrupted = false;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    if (this.interrupted) {
      // A second signal: the user does not want to wait for a graceful stop.
      this.killAllNow();
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
    this.interrupted = true;
    process.stderr.write(`\n${signal}: stopping every process the bench started (again to kill them at once)…\n`);
    this.fail(new Interrupted(signal));
  };
  private readonly onExit = () => {
    // The last resort when the process exits without going through shutdown(): no await here.
    this.killAllNow();
    for (const dir of this.tempDirs) rmSync(dir, { recursive: true, force: true });
  };

  constructor() {
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
    process.on("exit", this.onExit);
  }

  /** Aborted on a signal or when a child dies unexpectedly; every long wait listens to it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Aborts the run (the reason becomes the run's error). */
  fail(reason: Error): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Throws the abort reason if the run has been aborted. */
  check(): void {
    if (this.controller.signal.aborted) throw this.controller.signal.reason;
  }

  /** Registers work for shutdown (run last-in, first-out, after the children are stopped). */
  defer(name: string, run: () => Promise<void>): void {
    this.cleanups.push({ name, run });
  }

  /** A directory removed at shutdown, and also on an exit that skips shutdown. */
  tempDir(path: string): string {
    this.tempDirs.add(path);
    return path;
  }

  spawn(name: string, command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): Child {
    this.check();
    if (this.stopping) throw new Error(`not starting ${name}: the bench is shutting down`);
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    const keep = (data: Buffer) => {
      tail = (tail + data.toString("utf8")).slice(-OUTPUT_TAIL_BYTES);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const exited = new Promise<void>((resolve) => {
      child.on("error", (error) => {
        // Could not be started at all (e.g. the binary vanished); there will be no exit event.
        this.children.delete(child);
        if (!this.stopping) this.fail(new Error(`${name} could not be started: ${error.message}`));
        resolve();
      });
      child.on("exit", (code, signal) => {
        this.children.delete(child);
        if (!this.stopping) {
          this.fail(new Error(`${name} exited unexpectedly (${signal ?? `code ${code}`}); its last output:\n${indent(tail)}`));
        }
        resolve();
      });
    });
    const handle: Child = { name, pid: child.pid ?? -1, output: () => tail, exited };
    this.children.set(child, handle);
    return handle;
  }

  /**
   * Polls `url` until it answers 2xx. Fails with the child's output when the child exits first or
   * when `timeoutMs` passes.
   */
  async waitReady(child: Child, url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      this.check();
      const ok = await fetch(url, { signal: AbortSignal.any([this.signal, AbortSignal.timeout(2_000)]) }).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) return;
      await sleep(100, undefined, { signal: this.signal }).catch(() => undefined);
    }
    this.check();
    throw new Error(`${child.name} was not ready at ${url} after ${Math.round(timeoutMs / 1000)} s (raise --ready-timeout if the machine is busy); its last output:\n${indent(child.output())}`);
  }

  /** Stops every child (SIGTERM, then SIGKILL after a grace period), then runs the cleanups. */
  async shutdown(): Promise<string[]> {
    this.stopping = true;
    // Whatever is still waiting (a readiness poll, a load) stops now.
    this.fail(new Error("the bench is shutting down"));
    const problems: string[] = [];
    await Promise.all(
      [...this.children].map(async ([process_, child]) => {
        signal(process_, "SIGTERM");
        const graceful = await Promise.race([child.exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
        if (!graceful) {
          problems.push(`${child.name} (pid ${child.pid}) ignored SIGTERM for ${STOP_GRACE_MS / 1000} s; killed`);
          signal(process_, "SIGKILL");
          await child.exited;
        }
      }),
    );
    for (const cleanup of this.cleanups.reverse()) {
      try {
        await cleanup.run();
      } catch (error) {
        problems.push(`${cleanup.name}: ${(error as Error).message}`);
      }
    }
    for (const dir of this.tempDirs) rmSync(dir, { recursive: true, force: true });
    this.tempDirs.clear();
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    process.off("exit", this.onExit);
    return problems;
  }

  private killAllNow(): void {
    this.stopping = true;
    for (const process_ of this.children.keys()) signal(process_, "SIGKILL");
  }
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill(name);
  } catch {
    // Already gone between the check and the kill.
  }
}

function indent(text: string): string {
  const trimmed = text.trimEnd();
  return trimmed ? trimmed.split("\n").map((line) => `  | ${line}`).join("\n") : "  | (no output)";
}
