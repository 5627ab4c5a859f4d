/** Stack configuration: defaults, preview vs production, and the documented messages for bad values. */
import { describe, expect, it } from "vitest";
import { renderReceiverEnvironment } from "../../infra/receiver-environment.ts";
import { StackConfigError, matchesPattern, parseStackConfig } from "../../infra/stack-config.ts";

describe("parseStackConfig", () => {
  it("applies the documented defaults to a production stack", () => {
    expect(parseStackConfig("prod", {})).toEqual({
      stack: "prod",
      preview: false,
      location: "westeurope",
      namePrefix: "secexp",
      databaseMode: "postgres",
      postgresSku: "Standard_B1ms",
      postgresVersion: "16",
      image: undefined,
      imageRegistryId: undefined,
      minReplicas: 1,
      maxReplicas: 3,
      actionGroupShortName: "secexport",
      exampleAlertRules: false,
      protect: true,
      connectors: { extraEnvironment: {} },
    });
  });

  it("makes pr-* stacks previews: embedded store, one replica, unprotected", () => {
    expect(parseStackConfig("pr-17", {})).toMatchObject({ preview: true, databaseMode: "embedded", minReplicas: 1, maxReplicas: 1, protect: false });
    expect(parseStackConfig("review-17", { previewStackPattern: "review-*" }).preview).toBe(true);
    expect(parseStackConfig("dev", {})).toMatchObject({ preview: false, databaseMode: "postgres", protect: false });
  });

  it.each([
    [{ actionGroupShortName: "secure-export-prod" }, "secure-export:actionGroupShortName must be at most 12 characters (Azure's limit for an action group's short name), got \"secure-export-prod\" (18)"],
    [{ databaseMode: "cosmos" }, 'secure-export:databaseMode must be "postgres" or "embedded", got "cosmos"'],
    [{ namePrefix: "Secure_Export" }, "secure-export:namePrefix must be 2 to 12 lower-case letters and digits"],
    [{ minReplicas: "0" }, "secure-export:minReplicas must be an integer from 1 to 30"],
    [{ minReplicas: "4", maxReplicas: "2" }, "secure-export:maxReplicas must be at least minReplicas (4), got 2"],
    [{ databaseMode: "embedded", minReplicas: "2" }, "secure-export:minReplicas must be 1 with databaseMode embedded"],
    [{ exampleAlertRules: "yes" }, "secure-export:exampleAlertRules must be true or false"],
    [{ servicenowUrl: "https://x.service-now.com" }, "secure-export:servicenowUrl needs servicenowUsername and the secret servicenowPassword"],
    [{ servicenowUrl: "https://x.service-now.com", servicenowMode: "soap", servicenowUsername: "u" }, 'secure-export:servicenowMode must be "table" or "event"'],
    [{ bmcHelixUrl: "https://helix" }, "secure-export:bmcHelixUsername is required when bmcHelixUrl is set"],
    [{ receiverEnvironment: "[1,2]" }, "secure-export:receiverEnvironment must be a JSON object"],
    [{ imageRegistryId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/shared" }, "secure-export:imageRegistryId only applies with secure-export:image"],
    [{ image: "x.azurecr.io/r@sha256:1", imageRegistryId: "shared" }, "secure-export:imageRegistryId must be the ARM id of an Azure Container Registry"],
  ])("refuses %j", (raw, message) => {
    expect(() => parseStackConfig("dev", raw)).toThrow(StackConfigError);
    expect(() => parseStackConfig("dev", raw)).toThrow(message);
  });

  it("refuses protect on a preview stack", () => {
    expect(() => parseStackConfig("pr-3", { protect: "true" })).toThrow("secure-export:protect cannot be true on a preview stack (pr-3)");
  });

  it("matches stack name patterns", () => {
    expect(matchesPattern("pr-12", "pr-*")).toBe(true);
    expect(matchesPattern("prod", "pr-*")).toBe(false);
    expect(matchesPattern("a.b", "a.*")).toBe(true);
    expect(matchesPattern("axb", "a.b")).toBe(false);
  });
});

describe("renderReceiverEnvironment", () => {
  const base = {
    tenantId: "t",
    appIdUri: "api://c",
    clientId: "c",
    connectors: { extraEnvironment: {} },
    secrets: {},
    join: (parts: readonly string[]) => parts.join(""),
  };

  it("sets every variable the receiver requires", () => {
    const { env, secrets } = renderReceiverEnvironment({ ...base, database: { mode: "postgres", url: "postgres://u:p@h/db" } });
    const names = env.map((e) => e.name);
    for (const required of ["ENTRA_TENANT_ID", "ENTRA_AUDIENCES", "PORT", "HOST", "DATABASE_URL"]) expect(names).toContain(required);
    expect(secrets).toEqual([{ name: "database-url", value: "postgres://u:p@h/db" }]);
  });

  it("refuses receiverEnvironment entries that would override what the stack sets", () => {
    expect(() => renderReceiverEnvironment({ ...base, database: { mode: "embedded" }, connectors: { extraEnvironment: { ENTRA_TENANT_ID: "other" } } })).toThrow(
      "secure-export:receiverEnvironment must not override ENTRA_TENANT_ID",
    );
  });
});
