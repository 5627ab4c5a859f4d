/** A connector delivers one outbox job to one ITSM tool and says what the tool calls the incident. */
import type { ConnectorConfig } from "./connector-config.ts";
import type { DeliveryJob, ExternalLink } from "./delivery.ts";
import { BmcHelixConnector } from "./bmc-helix.ts";
import { ServiceNowEventConnector, ServiceNowTableConnector } from "./servicenow.ts";

export interface Connector {
  readonly name: string;
  /** Idempotent: safe to run again after a crash or a lost response. Throws DeliveryError. */
  deliver(job: DeliveryJob): Promise<ExternalLink | null>;
}

export function createConnector(config: ConnectorConfig): Connector {
  if (config.kind === "bmc-helix") return new BmcHelixConnector(config);
  return config.mode === "event" ? new ServiceNowEventConnector(config) : new ServiceNowTableConnector(config);
}
