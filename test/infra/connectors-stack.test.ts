/** ITSM connector settings reach the receiver, with their secrets as Container App secrets. */
import { beforeAll, describe, expect, it } from "vitest";
import { secretsVersion } from "../../infra/receiver-service.ts";
import { DEPLOYER_OBJECT_ID, containsSecret, envOf, find, runProgram, type Registered } from "./pulumi-mocks.ts";

let resources: Registered[];

beforeAll(async () => {
  ({ resources } = await runProgram({
    stack: "staging",
    config: {
      owners: DEPLOYER_OBJECT_ID,
      servicenowUrl: "https://dev1.service-now.com",
      servicenowClientId: "sn-client",
      servicenowCredentialExpiresAt: "2027-03-31",
      bmcHelixUrl: "https://helix.example.com",
      bmcHelixUsername: "integration",
      bmcHelixFirstName: "Azure",
      bmcHelixLastName: "Monitor",
      receiverEnvironment: JSON.stringify({ SERVICENOW_CLOSE_CODE: "Solution provided", INCIDENT_QUIET_PERIODS: "log=4h" }),
    },
    secrets: { servicenowClientSecret: "sn-secret-value", bmcHelixPassword: "helix-secret-value" },
  }));
});

describe("connector configuration", () => {
  it("sets the connector variables, referencing secrets instead of inlining them", () => {
    const app = find(resources, "azure-native:app:ContainerApp");
    expect(envOf(app)).toMatchObject({
      SERVICENOW_URL: { value: "https://dev1.service-now.com" },
      SERVICENOW_MODE: { value: "table" },
      SERVICENOW_CLIENT_ID: { value: "sn-client" },
      SERVICENOW_CLIENT_SECRET: { secretRef: "servicenow-client-secret" },
      SERVICENOW_CREDENTIAL_EXPIRES_AT: { value: "2027-03-31" },
      BMC_HELIX_URL: { value: "https://helix.example.com" },
      BMC_HELIX_USERNAME: { value: "integration" },
      BMC_HELIX_PASSWORD: { secretRef: "bmc-helix-password" },
      SERVICENOW_CLOSE_CODE: { value: "Solution provided" },
      INCIDENT_QUIET_PERIODS: { value: "log=4h" },
    });
    expect(app.inputs.configuration.secrets).toEqual(
      expect.arrayContaining([
        { name: "servicenow-client-secret", value: "sn-secret-value" },
        { name: "bmc-helix-password", value: "helix-secret-value" },
      ]),
    );
    expect(JSON.stringify(app.inputs.template)).not.toMatch(/sn-secret-value|helix-secret-value/);
    expect(containsSecret(app.rawInputs.configuration)).toBe(true);
  });

  it("derives SECRETS_VERSION from the secret values, so changing one makes a new revision, without revealing them", () => {
    const app = find(resources, "azure-native:app:ContainerApp");
    const key = find(resources, "random:index/randomId:RandomId").name;
    const version = envOf(app).SECRETS_VERSION!.value!;
    const values = (app.inputs.configuration.secrets as Array<{ value: string }>).map((s) => s.value);
    expect(version).toBe(secretsVersion("00".repeat(32), values));
    expect(version).not.toBe(secretsVersion("00".repeat(32), values.map((v, i) => (i === 0 ? `${v}-rotated` : v))));
    expect(version).toMatch(/^[0-9a-f]{16}$/);
    expect(key).toMatch(/secrets-version-key$/);
  });

  it("does not protect a stack that is neither production nor asked to", () => {
    expect(resources.filter((r) => r.options.protect)).toEqual([]);
  });
});
