/** Alerts and rules for the routing tests, built the way intake builds them. */
import { connectorsFromEnv, type ConnectorConfig } from "../../../receiver/src/connectors/kinds.ts";
import { normaliseAlert, type NormalisedAlert } from "../../../receiver/src/alerts/normalise.ts";
import { validateAlert } from "../../../receiver/src/alerts/validate.ts";
import { secretReader } from "../../../receiver/src/connectors/credentials.ts";
import { parseRoutingRules, type RoutingRules } from "../../../receiver/src/routing/load-rules.ts";
import type { Env } from "../../../receiver/src/env.ts";
import { fixture } from "../../support/fixtures.ts";

/** Validated and normalised like intake does, so the tests see what the receiver would. */
export function normalised(payload: unknown): NormalisedAlert {
  const validation = validateAlert(payload);
  if (!validation.ok) throw new Error(validation.message);
  return normaliseAlert(validation.alert);
}

/** A published sample with some essentials (and customProperties) replaced. */
export function sample(name: string, essentials: Record<string, unknown> = {}, customProperties?: Record<string, unknown> | null): NormalisedAlert {
  const payload = fixture(name);
  payload.data.essentials = { ...payload.data.essentials, ...essentials };
  if (customProperties !== undefined) payload.data.customProperties = customProperties;
  return normalised(payload);
}

/** A metric alert on the given target ids; everything else as Azure sends it. */
export function alertOn(targets: string[], essentials: Record<string, unknown> = {}, customProperties?: Record<string, unknown> | null): NormalisedAlert {
  return sample("metric-static-fired.json", { alertTargetIDs: targets, ...essentials }, customProperties);
}

export function rulesFrom(text: string, env: Env = {}, environment: ConnectorConfig[] = []): RoutingRules {
  return parseRoutingRules(text, { variable: "ROUTING_RULES", environment, readSecret: secretReader(env) });
}

/** The connectors today's variables configure, read through each tool's own declaration. */
export function environmentConfigs(kinds: { servicenow?: boolean; bmcHelix?: boolean }): ConnectorConfig[] {
  return connectorsFromEnv({
    ...(kinds.servicenow ? { SERVICENOW_URL: "https://legacy.service-now.com", SERVICENOW_USERNAME: "svc", SERVICENOW_PASSWORD: "pw" } : {}),
    ...(kinds.bmcHelix
      ? { BMC_HELIX_URL: "https://legacy-restapi.onbmc.com", BMC_HELIX_USERNAME: "svc", BMC_HELIX_PASSWORD: "pw", BMC_HELIX_FIRST_NAME: "Azure", BMC_HELIX_LAST_NAME: "Monitor" }
      : {}),
  });
}
