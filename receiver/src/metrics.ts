/** Prometheus metrics, one registry per app so tests and replicas never share counters. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { SignalFamily } from "./alerts/normalise.ts";
import type { IncidentEvent } from "./incidents/lifecycle.ts";

export interface Metrics {
  registry: Registry;
  notifications: Counter<"outcome" | "reason">;
  incidents: Counter<"change" | "family">;
  deliveries: Counter<"connector" | "outcome">;
  databaseErrors: Counter;
  requestDuration: Histogram<"method" | "route" | "status">;
  intakeBatchSize: Histogram;
  intakeBatchSeconds: Histogram;
  /** ITSM ticket changes applied, by connector, source (push, poll) and outcome. */
  itsmEvents: Counter<"connector" | "source" | "outcome">;
  /** Poll and reconciliation runs by job and outcome (ok, throttled, forbidden, failed): ARM's 429 and 403 show here. */
  syncRuns: Counter<"job" | "outcome">;
  /** Heartbeats by outcome: sent, send_failed (createNotifications refused), received, and unknown/used/expired nonces. */
  heartbeats: Counter<"outcome">;
  evidence: Counter<"outcome">;
}

/** Counts the incident changes a command made; every command reports through here. */
export function countIncidentChanges(metrics: Metrics, events: readonly IncidentEvent[], family: SignalFamily): void {
  for (const event of events) {
    if (event.type === "opened" || event.type === "resolved" || event.type === "reopened") metrics.incidents.inc({ change: event.type, family });
  }
}

export interface MetricSources {
  /** Read at scrape time: pending and dead-lettered jobs per connector. */
  outboxJobs?: () => Promise<Array<{ connector: string; status: string; count: number }>>;
  /** Read at scrape time: notifications waiting for the next intake batch. */
  intakeQueued?: () => number;
  /** Read at scrape time: days until each watched credential expires (negative once expired). */
  credentialDaysLeft?: () => Array<{ connector: string; credential: string; daysLeft: number }>;
  /** Read at scrape time: the heartbeat as the shared store has it (any replica may have received it). */
  heartbeat?: () => Promise<HeartbeatReading>;
}

export interface HeartbeatReading {
  lastSentAt: string | null;
  lastReceivedAt: string | null;
  missingSince: string | null;
}

const seconds = (iso: string | null) => (iso === null ? 0 : new Date(iso).getTime() / 1000);

export function createMetrics(sources: MetricSources = {}): Metrics {
  const registry = new Registry();
  const { outboxJobs, intakeQueued, credentialDaysLeft, heartbeat } = sources;
  if (credentialDaysLeft) {
    new Gauge({
      name: "secure_export_credential_days_left",
      help: "Whole days until a connector's credential expires (its credentialExpiresAt), by connector and credential; negative once expired. Absent when no expiry is set.",
      labelNames: ["connector", "credential"],
      registers: [registry],
      collect() {
        this.reset();
        for (const row of credentialDaysLeft()) this.set({ connector: row.connector, credential: row.credential }, row.daysLeft);
      },
    });
  }
  if (heartbeat) {
    // One read per scrape for the three gauges: each collect() waits for the same promise.
    let reading: Promise<HeartbeatReading | null> | null = null;
    const read = () => (reading ??= heartbeat().catch(() => null).finally(() => setTimeout(() => (reading = null), 0)));
    const gauge = (name: string, help: string, value: (s: HeartbeatReading) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          const status = await read();
          if (status) this.set(value(status));
        },
      });
    gauge("secure_export_heartbeat_last_sent_timestamp_seconds", "When the last heartbeat was asked of Azure (createNotifications), seconds since the epoch; 0: never.", (s) => seconds(s.lastSentAt));
    gauge("secure_export_heartbeat_last_received_timestamp_seconds", "When the last heartbeat arrived through the action group, seconds since the epoch; 0: never.", (s) => seconds(s.lastReceivedAt));
    gauge("secure_export_heartbeat_missing", "1 while the \"secure-export heartbeat missing\" alert is fired, else 0.", (s) => (s.missingSince ? 1 : 0));
  }
  if (intakeQueued) {
    new Gauge({
      name: "secure_export_intake_queued",
      help: "Notifications waiting for the next intake batch (a full queue answers 503).",
      registers: [registry],
      collect() {
        this.set(intakeQueued());
      },
    });
  }
  if (outboxJobs) {
    new Gauge({
      name: "secure_export_outbox_jobs",
      help: "Outbox deliveries not yet delivered, by connector and status (pending, dead).",
      labelNames: ["connector", "status"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await outboxJobs().catch(() => [])) this.set({ connector: row.connector, status: row.status }, row.count);
      },
    });
  }
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    notifications: new Counter({
      name: "secure_export_notifications_total",
      help: "Alert notifications by outcome (accepted, duplicate, not_admitted with the admission rule, rejected with the error code) and reason.",
      labelNames: ["outcome", "reason"],
      registers: [registry],
    }),
    incidents: new Counter({
      name: "secure_export_incidents_total",
      help: "Incident changes (opened, resolved, reopened) by signal family.",
      labelNames: ["change", "family"],
      registers: [registry],
    }),
    deliveries: new Counter({
      name: "secure_export_deliveries_total",
      help: "ITSM delivery attempts by connector and outcome (delivered, retried, dead_lettered).",
      labelNames: ["connector", "outcome"],
      registers: [registry],
    }),
    databaseErrors: new Counter({
      name: "secure_export_database_errors_total",
      help: "Requests that failed because the database was unavailable.",
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: "secure_export_http_request_duration_seconds",
      help: "HTTP request latency.",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    intakeBatchSize: new Histogram({
      name: "secure_export_intake_batch_size",
      help: "Notifications committed together in one intake transaction.",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    intakeBatchSeconds: new Histogram({
      name: "secure_export_intake_batch_seconds",
      help: "Time to commit one intake batch, flush to disk included.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    itsmEvents: new Counter({
      name: "secure_export_itsm_events_total",
      help: "Ticket changes from the ITSM (pushed or polled) by connector, source and outcome (resolved, reopened, recorded, no_change, not_confirmed, duplicate).",
      labelNames: ["connector", "source", "outcome"],
      registers: [registry],
    }),
    syncRuns: new Counter({
      name: "secure_export_sync_runs_total",
      help: "Runs of the ITSM polls (job poll:<connector>) and of reconciliation by outcome (ok, throttled, forbidden, failed).",
      labelNames: ["job", "outcome"],
      registers: [registry],
    }),
    heartbeats: new Counter({
      name: "secure_export_heartbeats_total",
      help: "Heartbeats by outcome: sent, send_failed (Azure refused createNotifications), received, and unknown, used or expired nonces (answered 202, recorded nowhere).",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    evidence: new Counter({
      name: "secure_export_log_evidence_total",
      help: "Log alerts' result rows by outcome (stored, refused: the link named another host, failed, none: no link).",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
}
