/**
 * The ITSM tools the receiver can deliver to: the one place that names them all. A new tool is a
 * folder (connectors/<tool>/: settings.ts, fields.ts, client.ts, index.ts) and one entry here.
 */
import type { Env } from "../env.ts";
import type { Connector } from "../outbox/delivery.ts";
import { bmcHelix } from "./bmc-helix/index.ts";
import { configFromEnv, type ConfigOf, type ConnectorKind, type FieldProfile } from "./kind.ts";
import { serviceNow } from "./servicenow/index.ts";

export const CONNECTOR_KINDS = [serviceNow, bmcHelix] as const;

type Kinds = (typeof CONNECTOR_KINDS)[number];
/** Any tool's connector configuration, told apart by `kind`. */
export type ConnectorConfig = Kinds extends infer K ? (K extends ConnectorKind<infer Id, infer S, infer O> ? ConfigOf<Id, S, O> : never) : never;
export type ConnectorKindId = ConnectorConfig["kind"];

export const KIND_IDS: readonly string[] = CONNECTOR_KINDS.map((k) => k.id);

export function kindOf(id: string): ConnectorKind | undefined {
  return (CONNECTOR_KINDS as readonly ConnectorKind[]).find((k) => k.id === id);
}

/** A field profile by the id stored with an incident's routing. */
export function profileById(id: string): FieldProfile | undefined {
  return CONNECTOR_KINDS.flatMap((k) => k.profiles).find((p) => p.id === id);
}

/** The field profile a connector's configuration (or its rules form, however incomplete) uses. */
export function profileOf(config: { readonly kind: string; readonly [key: string]: unknown }): FieldProfile | undefined {
  return kindOf(config.kind)?.profileOf(config);
}

/** The connectors the environment variables turn on (each tool's `<PREFIX>URL`), in the list's order. Throws ConfigError. */
export function connectorsFromEnv(env: Env): ConnectorConfig[] {
  return CONNECTOR_KINDS.flatMap((kind) => {
    const config = configFromEnv(kind as ConnectorKind, env);
    return config ? [config as ConnectorConfig] : [];
  });
}

/** `name` is what routes and deliveries call the instance. */
export function createConnector(name: string, config: ConnectorConfig): Connector {
  return (kindOf(config.kind) as ConnectorKind).create(name, config as never);
}
