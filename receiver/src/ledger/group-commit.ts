/**
 * Group commit: what arrives while a batch is being committed waits and goes together in the
 * next one, so a storm costs one transaction (and one flush to disk) per batch instead of per
 * alert, and a quiet receiver still commits each alert at once. One batch is in flight at a time.
 *
 * Nothing is answered before its batch's commit returned. The queue is bounded in items and in
 * bytes: when full, `submit` refuses at once (the caller answers 503 + Retry-After) rather than
 * letting memory grow without limit during a storm.
 */
import { retryingConflicts, StoreQueryError } from "../store/database.ts";

export class QueueFullError extends Error {
  constructor(what: string) {
    super(`the intake queue is full (${what}); retry later`);
    this.name = "QueueFullError";
  }
}

export class ShuttingDownError extends Error {
  constructor() {
    super("the receiver is shutting down; retry later");
    this.name = "ShuttingDownError";
  }
}

export interface GroupCommitOptions<I, R> {
  /** Commits one batch; answers one result per item, in order. */
  commit(items: readonly I[]): Promise<R[]>;
  /** Bytes an item holds while queued. */
  sizeOf(item: I): number;
  /** Most items in one transaction: keeps each transaction short. Default 256. */
  maxBatch?: number;
  /** Most items waiting. Default 10,000. */
  maxQueued?: number;
  /** Most bytes waiting. Default 64 MiB. */
  maxQueuedBytes?: number;
  /** Times a batch that lost a race with another transaction runs again before failing. Default 3. */
  conflictRetries?: number;
  /** Called after each committed batch (metrics). */
  onBatch?(size: number, seconds: number): void;
}

interface Waiting<I, R> {
  item: I;
  bytes: number;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class GroupCommit<I, R> {
  private readonly options: Required<Omit<GroupCommitOptions<I, R>, "onBatch">> & Pick<GroupCommitOptions<I, R>, "onBatch">;
  private queue: Array<Waiting<I, R>> = [];
  private queuedBytes = 0;
  private running: Promise<void> | null = null;
  private closed = false;
  private lastSubmitAt = 0;

  constructor(options: GroupCommitOptions<I, R>) {
    this.options = { maxBatch: 256, maxQueued: 10_000, maxQueuedBytes: 64 * 1024 * 1024, conflictRetries: 3, ...options };
  }

  /** Items waiting for a batch (not counting the batch in flight). */
  get depth(): number {
    return this.queue.length;
  }

  submit(item: I): Promise<R> {
    this.lastSubmitAt = performance.now();
    if (this.closed) return Promise.reject(new ShuttingDownError());
    const bytes = this.options.sizeOf(item);
    if (this.queue.length >= this.options.maxQueued) return Promise.reject(new QueueFullError(`${this.queue.length} notifications waiting`));
    if (this.queue.length > 0 && this.queuedBytes + bytes > this.options.maxQueuedBytes) {
      return Promise.reject(new QueueFullError(`${this.queuedBytes} bytes waiting`));
    }
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, bytes, resolve, reject });
      this.queuedBytes += bytes;
      // Arrivals of the same event-loop turn join the same batch.
      if (!this.running) this.running = new Promise<void>((done) => setImmediate(() => void this.drain().finally(done)));
    });
  }

  /**
   * Resolves once nothing has arrived for `quietMs`, nothing waits and no batch is in flight — or
   * after `maxWaitMs` whatever the intake is doing, so what waits for it is slowed, never stopped.
   */
  async quiet(quietMs: number, maxWaitMs: number): Promise<void> {
    const deadline = performance.now() + maxWaitMs;
    for (;;) {
      const now = performance.now();
      if (now >= deadline) return;
      const sinceLast = now - this.lastSubmitAt;
      if (!this.running && this.queue.length === 0 && sinceLast >= quietMs) {
        // Timers run before the event loop reads its sockets: after a long synchronous stretch (the
        // embedded engine runs in this thread) requests may be waiting unread. Let them be read first.
        await new Promise((resolve) => setImmediate(resolve));
        if (!this.running && this.queue.length === 0 && performance.now() - this.lastSubmitAt >= quietMs) return;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(deadline - now, Math.max(1, quietMs - sinceLast))));
    }
  }

  /** Refuses new items, and resolves once everything already queued is committed or failed. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.options.maxBatch);
        for (const w of batch) this.queuedBytes -= w.bytes;
        await this.commitSettling(batch);
      }
    } finally {
      this.running = null;
    }
  }

  /** Commits a batch and settles each member; a rejected statement is isolated by bisection. */
  private async commitSettling(batch: Array<Waiting<I, R>>): Promise<void> {
    const started = performance.now();
    try {
      const results = await retryingConflicts(() => this.options.commit(batch.map((w) => w.item)), this.options.conflictRetries);
      batch.forEach((w, i) => w.resolve(results[i] as R));
      this.options.onBatch?.(batch.length, (performance.now() - started) / 1000);
    } catch (error) {
      // The server refused the data of some member (a bug of ours: prepare-notification.ts keeps
      // such values out). Commit the halves apart so one bad alert never fails its neighbours.
      if (error instanceof StoreQueryError && error.kind === "rejected" && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await this.commitSettling(batch.slice(0, half));
        await this.commitSettling(batch.slice(half));
        return;
      }
      for (const w of batch) w.reject(error);
    }
  }
}
