/** Prometheus metrics, one registry per app so tests and replicas never share counters. */
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  registry: Registry;
  notifications: Counter<"outcome" | "reason">;
  incidents: Counter<"change" | "family">;
  databaseErrors: Counter;
  requestDuration: Histogram<"method" | "route" | "status">;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
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
