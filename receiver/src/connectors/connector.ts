/** A connector delivers one outbox job to one ITSM tool and says what the tool calls the incident. */
import type { ConnectorConfig } from "./connector-config.ts";
import type { DeliveryJob, ExternalLink } from "./delivery.ts";
import type { ConnectorCheck } from "./http-client.ts";
import { BmcHelixConnector } from "./bmc-helix.ts";
import { ServiceNowEventConnector, ServiceNowTableConnector } from "./servicenow.ts";

export type { ConnectorCheck };

export interface Connector {
  readonly name: string;
  /** Idempotent: safe to run again after a crash or a lost response. Throws DeliveryError. */
  deliver(job: DeliveryJob): Promise<ExternalLink | null>;
  /**
   * One authenticated request that tells whether the tool is reachable and takes our credentials,
   * for a line per connector at start-up. Never throws; delivers nothing.
   */
  check(): Promise<ConnectorCheck>;
}

export function createConnector(config: ConnectorConfig): Connector {
  if (config.kind === "bmc-helix") return new BmcHelixConnector(config);
  return config.mode === "event" ? new ServiceNowEventConnector(config) : new ServiceNowTableConnector(config);
}
