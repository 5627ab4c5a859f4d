/** Prometheus metrics, one registry per app so tests and replicas never share counters. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  registry: Registry;
  notifications: Counter<"outcome" | "reason">;
  incidents: Counter<"change" | "family">;
  deliveries: Counter<"connector" | "outcome">;
  databaseErrors: Counter;
  requestDuration: Histogram<"method" | "route" | "status">;
}

/** `outboxJobs` reads the outbox at scrape time: pending and dead-lettered jobs per connector. */
export function createMetrics(outboxJobs?: () => Promise<Array<{ connector: string; status: string; count: number }>>): Metrics {
  const registry = new Registry();
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
      help: "Alert notifications by outcome (accepted, duplicate, rejected) and reason.",
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
  };
}
