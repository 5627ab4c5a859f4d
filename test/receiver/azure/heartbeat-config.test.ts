/**
 * The heartbeat's configuration: off unless an action group is named (and the interval is not 0),
 * and then everything Azure's request needs, each problem naming its variable.
 */
import { describe, expect, it } from "vitest";
import { heartbeatConfigFromEnv } from "../../../receiver/src/azure/heartbeat-config.ts";
import { ConfigErrors, loadConfig } from "../../../receiver/src/config.ts";

const GROUP = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Insights/actionGroups/secexp-prod";
const auth = { audiences: ["2f0e1c3a-0000-4000-8000-00000000a99e", "api://2f0e1c3a-0000-4000-8000-00000000a99e"], tenantId: "5e1ec7ed-0000-4000-8000-00000000c0de" };
const on = { HEARTBEAT_ACTION_GROUP_ID: GROUP, PUBLIC_URL: "https://secexp-prod.example.azurecontainerapps.io/", ENTRA_APP_OBJECT_ID: "0BEC7A11-5E1E-4C7E-8000-00000000A99E" };

describe("the heartbeat's configuration", () => {
  it("is off without an action group, or with HEARTBEAT_INTERVAL 0 or off", () => {
    expect(heartbeatConfigFromEnv({}, auth)).toBeNull();
    expect(heartbeatConfigFromEnv({ ...on, HEARTBEAT_INTERVAL: "0" }, auth)).toBeNull();
    expect(heartbeatConfigFromEnv({ ...on, HEARTBEAT_INTERVAL: "off" }, auth)).toBeNull();
  });

  it("with one: every 15 minutes by default, to the public URL, for the App ID URI among the audiences", () => {
    expect(heartbeatConfigFromEnv(on, auth)).toEqual({
      intervalMs: 900_000,
      actionGroupId: GROUP,
      publicUrl: "https://secexp-prod.example.azurecontainerapps.io",
      appObjectId: "0bec7a11-5e1e-4c7e-8000-00000000a99e",
      identifierUri: "api://2f0e1c3a-0000-4000-8000-00000000a99e",
      tenantId: auth.tenantId,
    });
    expect(heartbeatConfigFromEnv({ ...on, HEARTBEAT_INTERVAL: "5m" }, auth)?.intervalMs).toBe(300_000);
  });

  it("names each variable that is missing or wrong, all at once through loadConfig", () => {
    const base = { ENTRA_TENANT_ID: auth.tenantId, ENTRA_AUDIENCES: auth.audiences.join(","), AZURE_ALERT_SYNC: "off" };
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env });
        return [];
      } catch (error) {
        return (error as ConfigErrors).errors.map((e) => e.message);
      }
    };
    expect(problems({ HEARTBEAT_ACTION_GROUP_ID: GROUP })).toEqual([expect.stringMatching(/^PUBLIC_URL is required/)]);
    expect(problems({ ...on, ENTRA_APP_OBJECT_ID: "not-a-guid" })).toEqual([expect.stringMatching(/^ENTRA_APP_OBJECT_ID must be a GUID \(the application's object id, not its client id\)/)]);
    expect(problems({ ...on, HEARTBEAT_ACTION_GROUP_ID: "secexp-prod" })).toEqual([expect.stringMatching(/^HEARTBEAT_ACTION_GROUP_ID must be an action group's resource id/)]);
    expect(problems({ ...on, HEARTBEAT_INTERVAL: "10s" })).toEqual([expect.stringMatching(/^HEARTBEAT_INTERVAL must be a duration/)]);
    expect(problems({ ...on, ENTRA_AUDIENCES: auth.audiences[0]! })).toEqual([expect.stringMatching(/^ENTRA_AUDIENCES must include the App ID URI/)]);
    expect(loadConfig({ ...base, ...on }).heartbeat?.actionGroupId).toBe(GROUP);
  });
});
