/**
 * Prometheus metrics on a port of their own. The API port is public behind the ingress; metrics
 * tell anyone who can read them how busy the receiver is, which connectors fail and how many alerts
 * each service sends, so they are kept off it and scraped from inside the environment.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics } from "../metrics.ts";

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export function startMetricsServer(metrics: Metrics, address: { host: string; port: number }): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" || path !== "/metrics") {
      response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not_found", message: `${request.method} ${path} not found; metrics are at GET /metrics` }));
      return;
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: "internal_error", message: String(error) })),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
