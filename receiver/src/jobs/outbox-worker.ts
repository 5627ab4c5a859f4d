/**
 * Delivers outbox jobs: claim (short transaction, leased), deliver over HTTP outside any
 * transaction, then record the outcome. Several loops run at once; the claim query keeps them
 * (and other replicas) off each other's jobs and off a later job of an incident still in flight.
 */
import type { FastifyBaseLogger } from "fastify";
import type { Metrics } from "../metrics.ts";
import type { Database } from "../store/database.ts";
import { claimDelivery, completeDelivery, failDelivery } from "../store/outbox.ts";
import type { OutboxConfig } from "../outbox/retry-policy.ts";
import type { Connector } from "../outbox/delivery.ts";
import { DeliveryError, type DeliveryJob } from "../outbox/delivery.ts";
import { retryDelayMs } from "../outbox/retry-policy.ts";

export class OutboxWorker {
  private readonly connectors: Map<string, Connector>;
  private readonly db: Database;
  private readonly config: OutboxConfig;
  private readonly log: FastifyBaseLogger;
  private readonly metrics: Metrics;
  private readonly evidenceWaitMs: number;
  private readonly yieldTo: (() => Promise<void>) | null;
  private running = false;
  private loops: Promise<void>[] = [];
  /** The loops waiting for their next poll; a set, so a finished wait leaves nothing behind. */
  private readonly sleepers = new Set<() => void>();

  /**
   * `yieldTo`, when set, is awaited before each claim: the embedded store runs the outbox in the
   * intake's one thread, so there the intake goes first (receiver.ts).
   */
  constructor(options: { db: Database; connectors: readonly Connector[]; config: OutboxConfig; log: FastifyBaseLogger; metrics: Metrics; evidenceWaitMs?: number; yieldTo?: () => Promise<void> }) {
    this.db = options.db;
    this.connectors = new Map(options.connectors.map((c) => [c.name, c]));
    this.config = options.config;
    this.log = options.log;
    this.metrics = options.metrics;
    this.evidenceWaitMs = options.evidenceWaitMs ?? 0;
    this.yieldTo = options.yieldTo ?? null;
  }

  start(): void {
    if (this.running || this.connectors.size === 0) return;
    this.running = true;
    this.loops = Array.from({ length: this.config.concurrency }, () => this.loop());
  }

  /** Lets deliveries in flight finish, then stops. */
  async stop(): Promise<void> {
    this.running = false;
    for (const wake of [...this.sleepers]) wake();
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let worked = false;
      try {
        worked = await this.runOnce();
      } catch (error) {
        // The database is down or failing: nothing was lost (jobs are leased), try again later.
        this.log.warn({ err: error }, "outbox: could not claim or record a delivery");
      }
      if (!worked && this.running) await this.sleep(this.config.pollMs);
    }
  }

  /** Waits `ms`, or until stop() wakes every loop. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = () => {
        clearTimeout(timer);
        this.sleepers.delete(sleeper);
        resolve();
      };
      const timer = setTimeout(sleeper, ms);
      this.sleepers.add(sleeper);
    });
  }

  /** Claims and delivers one due job; false when none was due. */
  async runOnce(): Promise<boolean> {
    if (this.yieldTo) await this.yieldTo();
    const job = await claimDelivery(this.db, [...this.connectors.keys()], this.evidenceWaitMs);
    if (!job) return false;
    await this.deliver(job);
    return true;
  }

  private async deliver(job: DeliveryJob): Promise<void> {
    const log = this.log.child({ alertId: job.snapshot.alertId, incidentId: job.incidentId, deliveryId: job.id, connector: job.connector, action: job.action });
    const connector = this.connectors.get(job.connector)!;
    try {
      const link = await connector.deliver(job);
      await completeDelivery(this.db, job, link);
      this.metrics.deliveries.inc({ connector: job.connector, outcome: "delivered" });
      log.info({ attempts: job.attempts, externalId: link?.externalId }, "delivered");
    } catch (error) {
      const failure = error instanceof DeliveryError ? error : new DeliveryError(String((error as Error)?.message ?? error), { retryable: true });
      const retryAt = failure.retryable ? new Date(Date.now() + retryDelayMs(job.attempts, this.config, failure.retryAfterMs)) : null;
      const outcome = await failDelivery(this.db, job, failure.message, retryAt);
      this.metrics.deliveries.inc({ connector: job.connector, outcome: outcome === "dead" ? "dead_lettered" : "retried" });
      if (outcome === "dead") log.error({ attempts: job.attempts, error: failure.message }, "delivery dead-lettered");
      else log.warn({ attempts: job.attempts, error: failure.message, retryAt }, "delivery failed; will retry");
    }
  }
}
