/**
 * Named ITSM connector instances: those the rules declare, and the one today's environment
 * variables (SERVICENOW_URL, BMC_HELIX_URL, …) configure, which keeps working as `default`.
 * A declared instance is read by its tool's own declaration (connectors/kind.ts), which places
 * every problem below the connector; here it gets its place in the rules.
 */
import type { SecretReader, SettingProblem } from "../connectors/credentials.ts";
import { configFromRules, type ConnectorKind, type ConnectorSpec } from "../connectors/kind.ts";
import { CONNECTOR_KINDS, kindOf, type ConnectorConfig } from "../connectors/kinds.ts";
import { problem, type Problem, type RulesPath } from "./problems.ts";

export type { ConnectorSpec };

export interface NamedConnector {
  name: string;
  /** `environment`: configured by today's variables; `rules`: declared under `connectors`. */
  origin: "environment" | "rules";
  config: ConnectorConfig;
}

const COMMON_KEYS = ["kind", "auth"];

/**
 * Today's variables as named instances. One connector is `default`. When several tools are set
 * (SERVICENOW_URL and BMC_HELIX_URL), the first tool's is `default` and each other is
 * `default-<kind>`: `default-bmc-helix`.
 */
export function environmentConnectors<T extends { kind: string }>(configs: readonly T[]): Array<{ name: string; origin: "environment"; config: T }> {
  return configs.map((config, index) => ({
    name: index === 0 ? "default" : `default-${config.kind}`,
    origin: "environment" as const,
    config,
  }));
}

function unknownKeys(kind: ConnectorKind, spec: ConnectorSpec, path: RulesPath, problems: Problem[]): void {
  for (const key of Object.keys(spec)) {
    if (COMMON_KEYS.includes(key) || key in kind.settings) continue;
    const owner = CONNECTOR_KINDS.find((other) => other.id !== kind.id && key in other.settings);
    problems.push(
      problem(
        "unknown_key",
        [...path, key],
        owner ? `is a ${owner.label} setting; this connector is kind ${kind.id}` : `is not a ${kind.id} setting; use one of: ${[...COMMON_KEYS, ...Object.keys(kind.settings)].join(", ")}`,
      ),
    );
  }
}

/** Builds one declared connector; null (with problems added) when it cannot be built. */
export function buildConnector(name: string, spec: ConnectorSpec, path: RulesPath, read: SecretReader, problems: Problem[]): NamedConnector | null {
  const kind = kindOf(spec.kind)!;
  const before = problems.length;
  unknownKeys(kind, spec, path, problems);
  const found: SettingProblem[] = [];
  const config = configFromRules(kind, spec, read, found);
  problems.push(...found.map((p) => problem(p.code, [...path, ...p.at], p.message)));
  if (!config || problems.length > before) return null;
  return { name, origin: "rules", config: config as ConnectorConfig };
}
