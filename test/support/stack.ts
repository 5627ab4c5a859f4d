/** A receiver and the local token issuer, wired through configuration as in production. */
import { loadConfig, type ReceiverConfig } from "../../receiver/src/config.ts";
import { startReceiver, type RunningReceiver } from "../../receiver/src/receiver.ts";
import type { Database } from "../../receiver/src/store/database.ts";
import { LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_TENANT_ID } from "../../receiver/local/local-identity.ts";
import { startLocalIssuer, type LocalIssuer } from "../../receiver/local/local-issuer.ts";

export interface TestStack {
  issuer: LocalIssuer;
  receiver: RunningReceiver;
  config: ReceiverConfig;
  /** POSTs an alert with a fresh Azure-Monitor-like token (or the given one). */
  postAlert(body: unknown, options?: { token?: string | null; contentType?: string }): Promise<Response>;
  close(): Promise<void>;
}

export function testConfig(issuerUrl: string, env: Record<string, string> = {}): ReceiverConfig {
  return loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    ENTRA_TENANT_ID: LOCAL_TENANT_ID,
    ENTRA_AUDIENCES: `${LOCAL_APP_ID_URI},${LOCAL_APP_CLIENT_ID}`,
    ENTRA_AUTHORITY: issuerUrl,
    ENTRA_KEYS_MIN_REFETCH_SECONDS: "0",
    METRICS_PORT: "0",
    // No Azure Resource Manager unless a test brings its stand-in (test/fakes/arm-fake.ts).
    AZURE_ALERT_SYNC: "off",
    RECONCILE_INTERVAL: "off",
    // Nor the Log Analytics API (a managed-identity stand-in would turn it on): test/fakes/log-analytics-fake.ts.
    LOG_EVIDENCE: "off",
    ...env,
  });
}

export async function startTestStack(options: { db: Database; env?: Record<string, string> }): Promise<TestStack> {
  const issuer = await startLocalIssuer();
  const config = testConfig(issuer.url, options.env);
  const receiver = await startReceiver(config, { db: options.db, shutdownGraceMs: 500 });
  return {
    issuer,
    receiver,
    config,
    async postAlert(body, { token, contentType = "application/json" } = {}) {
      const bearer = token === undefined ? await issuer.mint() : token;
      return fetch(`${receiver.url}/api/alerts`, {
        method: "POST",
        headers: { "content-type": contentType, ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }) },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
    },
    async close() {
      await receiver.close();
      await issuer.close();
    },
  };
}
