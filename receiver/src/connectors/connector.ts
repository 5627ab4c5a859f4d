/** The connector for one named ITSM instance: the factory the composition root calls. */
import type { Connector } from "../outbox/delivery.ts";
import type { ConnectorConfig } from "./connector-config.ts";
import { BmcHelixConnector } from "./bmc-helix.ts";
import { ServiceNowEventConnector, ServiceNowTableConnector } from "./servicenow.ts";

/** `name` is what routes and deliveries call the instance. */
export function createConnector(name: string, config: ConnectorConfig): Connector {
  if (config.kind === "bmc-helix") return new BmcHelixConnector(name, config);
  return config.mode === "event" ? new ServiceNowEventConnector(name, config) : new ServiceNowTableConnector(name, config);
}
