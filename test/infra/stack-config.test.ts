/** Stack configuration: defaults, preview vs production, and the documented messages for bad values. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderReceiverEnvironment } from "../../infra/receiver-environment.ts";
import { CONFIG_KEYS, DEFAULTS, ROUTING_SECRETS_KEY, SECRET_KEYS, StackConfigError, matchesPattern, parseStackConfig } from "../../infra/stack-config.ts";
import { REPO_ROOT } from "../support/paths.ts";

const OID = "0b0b0b0b-0000-4000-8000-00000000000b";
const PROMOTED = `contososhared.azurecr.io/secure-export-receiver@sha256:${"a".repeat(64)}`;

describe("parseStackConfig", () => {
  it("applies the documented defaults to a production stack", () => {
    expect(parseStackConfig("prod", { image: PROMOTED })).toEqual({
      stack: "prod",
      preview: false,
      identityOnly: false,
      sharedEnvironment: false,
      identity: { kind: "own", owners: [], readers: [], operators: [] },
      location: "westeurope",
      namePrefix: "secexp",
      names: { base: "secexp-prod", registry: "secexpprodacr", containerApp: "secexp-prod", privateDnsZone: "secexp-prod.private.postgres.database.azure.com", actionGroup: "secexp-prod" },
      databaseMode: "postgres",
      // B1ms: 35 user connections, 5 kept for operators, 2 x 3 replicas during a rollout.
      postgres: { sku: "Standard_B1ms", tier: "Burstable", version: "16", poolMax: 5 },
      image: PROMOTED,
      imageRegistryId: undefined,
      minReplicas: 1,
      maxReplicas: 3,
      closedLoop: { itsmSyncClients: [], alertSync: true, alertSyncScopes: [] },
      evidenceWorkspaces: [],
      actionGroupShortName: "secexport",
      exampleAlertRules: false,
      protect: true,
      connectors: { extraEnvironment: {} },
      routingRules: undefined,
      metrics: true,
    });
  });

  it("refuses to build the image on a protected stack: it runs only what the pipeline built, by digest (no registry admin user)", () => {
    expect(() => parseStackConfig("prod", {})).toThrow("secure-export:image is required on a protected stack (prod)");
    expect(() => parseStackConfig("staging", { protect: "true" })).toThrow("secure-export:image is required on a protected stack (staging)");
    expect(parseStackConfig("staging", {}).image).toBeUndefined();
  });

  it("shares the preview environment only from an identity-only stack, and refuses a database server in it", () => {
    expect(parseStackConfig("preview-identity", { identityOnly: "true", sharedEnvironment: "true" })).toMatchObject({ identityOnly: true, sharedEnvironment: true });
    expect(() => parseStackConfig("staging", { sharedEnvironment: "true" })).toThrow("secure-export:sharedEnvironment only applies with identityOnly");
    expect(parseStackConfig("staging", { identityStack: "o/secure-export/preview-identity" }).databaseMode).toBe("embedded");
    expect(() => parseStackConfig("pr-3", { identityStack: "o/secure-export/preview-identity", databaseMode: "postgres" })).toThrow("secure-export:databaseMode cannot be postgres with identityStack");
  });

  it("makes pr-* stacks previews: embedded store, one replica, unprotected, no database settings", () => {
    expect(parseStackConfig("pr-17", {})).toMatchObject({ preview: true, databaseMode: "embedded", postgres: undefined, minReplicas: 1, maxReplicas: 1, protect: false });
    expect(parseStackConfig("review-17", { previewStackPattern: "review-*" }).preview).toBe(true);
    expect(parseStackConfig("dev", {})).toMatchObject({ preview: false, databaseMode: "postgres", protect: false });
  });

  it("reads object-id lists as YAML lists (JSON text from Pulumi) or comma-separated, operators and readers alike", () => {
    expect(parseStackConfig("dev", { owners: JSON.stringify([OID, OID.toUpperCase()]), readers: `${OID}, 1e1e1e1e-0000-4000-8000-00000000001e` }).identity).toEqual({
      kind: "own",
      owners: [OID],
      readers: [OID, "1e1e1e1e-0000-4000-8000-00000000001e"],
      operators: [],
    });
  });

  it("takes the tier and the pool from the SKU: memory optimized, general purpose, larger servers", () => {
    expect(parseStackConfig("dev", { postgresSku: "Standard_E2ds_v5" }).postgres).toEqual({ sku: "Standard_E2ds_v5", tier: "MemoryOptimized", version: "16", poolMax: 283 });
    expect(parseStackConfig("dev", { postgresSku: "Standard_D4ds_v5", maxReplicas: "10" }).postgres).toMatchObject({ tier: "GeneralPurpose", poolMax: 84 });
    expect(parseStackConfig("dev", { postgresSku: "Standard_D32ds_v5", maxReplicas: "30" }).postgres).toMatchObject({ tier: "GeneralPurpose", poolMax: 83 });
  });

  it("keeps an existing stack's auto-named action group when actionGroupName names it", () => {
    expect(parseStackConfig("staging", { actionGroupName: "secexp-staging1a2b3c4d" }).names).toMatchObject({ actionGroup: "secexp-staging1a2b3c4d", base: "secexp-staging" });
  });

  it("shares the preview application through identityStack and an identity-only stack creates it", () => {
    expect(parseStackConfig("pr-3", { identityStack: "contoso/secure-export/preview-identity" }).identity).toEqual({ kind: "shared", stack: "contoso/secure-export/preview-identity" });
    expect(parseStackConfig("preview-identity", { identityOnly: "true" })).toMatchObject({ identityOnly: true, identity: { kind: "own" } });
  });

  it.each([
    [{ actionGroupShortName: "secure-export-prod" }, "secure-export:actionGroupShortName must be at most 12 characters (Azure's limit for an action group's short name), got \"secure-export-prod\" (18)"],
    [{ actionGroupName: "ag/prod" }, "secure-export:actionGroupName must be a valid name: the action group name \"ag/prod\" (7 characters) breaks Azure's rule: 1-260 characters without %, &, \\, ? or /, not ending with '.' or a space"],
    [{ databaseMode: "cosmos" }, 'secure-export:databaseMode must be "postgres" or "embedded", got "cosmos"'],
    [{ namePrefix: "Secure_Export" }, "secure-export:namePrefix must be 2 to 12 lower-case letters and digits"],
    [{ minReplicas: "0" }, "secure-export:minReplicas must be an integer from 1 to 30"],
    [{ minReplicas: "4", maxReplicas: "2" }, "secure-export:maxReplicas must be at least minReplicas (4), got 2"],
    [{ maxReplicas: "8" }, "secure-export:maxReplicas is too large for postgresSku Standard_B1ms: it allows 35 user connections, and a rollout runs 2 x 8 replicas"],
    [{ postgresSku: "Standard_B1s" }, "secure-export:postgresSku must be a flexible server SKU such as Standard_B1ms"],
    [{ postgresVersion: "9.6" }, "secure-export:postgresVersion must be one of 18, 17, 16, 15, 14, 13, 12, 11, got \"9.6\""],
    [{ databaseMode: "embedded", minReplicas: "2" }, "secure-export:minReplicas must be 1 with databaseMode embedded"],
    [{ exampleAlertRules: "yes" }, "secure-export:exampleAlertRules must be true or false"],
    [{ owners: "me" }, "secure-export:owners must be a list of Entra object ids"],
    [{ operators: '["x"' }, "secure-export:operators must be a list of Entra object ids"],
    [{ identityStack: "preview-identity" }, "secure-export:identityStack must be a fully qualified stack name (organization/project/stack)"],
    [{ identityStack: "o/p/s", readers: OID }, "secure-export:readers has no effect with identityStack: set it on o/p/s"],
    [{ identityOnly: "true", identityStack: "o/p/s" }, "secure-export:identityStack cannot be set on an identityOnly stack"],
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

  it("takes the date the given ITSM secret expires, checked as the receiver checks it", () => {
    const helix = { bmcHelixUrl: "https://helix", bmcHelixUsername: "u", bmcHelixFirstName: "A", bmcHelixLastName: "B" };
    const secrets = new Set(["bmcHelixPassword"] as const);
    expect(parseStackConfig("dev", { ...helix, bmcHelixCredentialExpiresAt: "2027-03-31" }, secrets).connectors.bmcHelix).toMatchObject({ credentialExpiresAt: "2027-03-31" });
    expect(parseStackConfig("dev", helix, secrets).connectors.bmcHelix).not.toHaveProperty("credentialExpiresAt");
    expect(() => parseStackConfig("dev", { ...helix, bmcHelixCredentialExpiresAt: "31/03/2027" }, secrets)).toThrow('secure-export:bmcHelixCredentialExpiresAt must be a date like 2027-03-31 or an instant like 2027-03-31T12:00:00Z, got "31/03/2027"');
  });

  it("refuses protect or identityOnly on a preview stack", () => {
    expect(() => parseStackConfig("pr-3", { protect: "true" })).toThrow("secure-export:protect cannot be true on a preview stack (pr-3)");
    expect(() => parseStackConfig("pr-3", { identityOnly: "true" })).toThrow("secure-export:identityOnly cannot be true on a preview stack (pr-3)");
  });

  it("refuses a stack name Azure cannot take, naming the resource and the rule, with a stable code", () => {
    const refuse = (stack: string) => {
      try {
        parseStackConfig(stack, {});
      } catch (error) {
        return error as StackConfigError;
      }
      throw new Error(`accepted ${stack}`);
    };
    expect(refuse("Staging_EU")).toMatchObject({ code: "STACK_NAME_INVALID", message: expect.stringContaining('the Container App name "secexp-Staging_EU" (17 characters) breaks Azure\'s rule: 2-32 lower-case letters') });
    expect(refuse("integration-westeurope-001").message).toContain('the Container App name "secexp-integration-westeurope-001" (33 characters)');
    expect(parseStackConfig("integration-westeurope-01", {}).names.containerApp).toBe("secexp-integration-westeurope-01");
    expect(refuse("a--b").message).toContain("no '--'");
    // The identity-only stack creates no Azure resource: its name is not bound by these rules.
    expect(parseStackConfig("Preview_Identity", { identityOnly: "true" }).identityOnly).toBe(true);
  });

  it("matches stack name patterns", () => {
    expect(matchesPattern("pr-12", "pr-*")).toBe(true);
    expect(matchesPattern("prod", "pr-*")).toBe(false);
    expect(matchesPattern("a.b", "a.*")).toBe(true);
    expect(matchesPattern("axb", "a.b")).toBe(false);
  });
});

describe("docs/deploy/pulumi.md's configuration table", () => {
  // The table under "## Configuration": | `key`, `key` | meaning | default |
  const doc = readFileSync(join(REPO_ROOT, "docs/deploy/pulumi.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Configuration"), doc.indexOf("## A new environment"));
  const rows = section.split("\n").filter((l) => l.startsWith("| `")).map((l) => l.split("|").map((c) => c.trim()));
  const documented = new Map(rows.flatMap(([, keys, , defaults]) => [...keys!.matchAll(/`(\w+)`/g)].map((m) => [m[1]!, defaults!] as const)));

  it("documents exactly the keys the program reads", () => {
    expect([...documented.keys()].sort()).toEqual([...CONFIG_KEYS, ...SECRET_KEYS, ROUTING_SECRETS_KEY].sort());
  });

  it("states each constant default the code applies", () => {
    for (const [key, value] of Object.entries(DEFAULTS)) {
      expect({ key, documented: documented.get(key) }).toEqual({ key, documented: expect.stringContaining(`\`${value}\``) });
    }
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

  it("sets every variable the receiver requires, and the database variables without any secret", () => {
    const { env, secrets } = renderReceiverEnvironment({ ...base, database: { mode: "postgres", url: "postgres://id@h/db?sslmode=verify-full", identityClientId: "uami", poolMax: 7 } });
    expect(Object.fromEntries(env.map((e) => [e.name, "value" in e ? e.value : e.secretRef]))).toMatchObject({
      ENTRA_TENANT_ID: "t",
      ENTRA_AUDIENCES: "api://c,c",
      ENTRA_CLIENT_ID: "c",
      PORT: "8080",
      HOST: "0.0.0.0",
      DATABASE_URL: "postgres://id@h/db?sslmode=verify-full",
      DATABASE_AUTH: "azure-managed-identity",
      AZURE_CLIENT_ID: "uami",
      DATABASE_POOL_MAX: "7",
    });
    expect(secrets).toEqual([]);
  });

  it("refuses receiverEnvironment entries that would override what the stack sets", () => {
    expect(() => renderReceiverEnvironment({ ...base, database: { mode: "embedded" }, connectors: { extraEnvironment: { ENTRA_TENANT_ID: "other" } } })).toThrow(
      "secure-export:receiverEnvironment must not override ENTRA_TENANT_ID",
    );
  });
});
