/** A preview stack (pr-*) with a prebuilt image: cheap, disposable, unprotected, one replica on the embedded store. */
import { beforeAll, describe, expect, it } from "vitest";
import { envOf, find, runProgram, type Registered } from "./pulumi-mocks.ts";

let resources: Registered[];
let outputs: Record<string, unknown>;
const IMAGE = "registry.example.com/secure-export-receiver@sha256:0123456789abcdef";

beforeAll(async () => {
  ({ resources, outputs } = await runProgram({ stack: "pr-42", config: { image: IMAGE } }));
});

describe("preview stack", () => {
  it("uses the embedded store on an ephemeral volume with exactly one replica, and creates no database server", () => {
    expect(resources.filter((r) => r.type.startsWith("azure-native:dbforpostgresql:"))).toEqual([]);
    const app = find(resources, "azure-native:app:ContainerApp");
    expect(app.inputs.template.scale).toMatchObject({ minReplicas: 1, maxReplicas: 1 });
    expect(app.inputs.template.volumes).toEqual([{ name: "data", storageType: "EmptyDir" }]);
    expect(app.inputs.template.containers[0].volumeMounts).toEqual([{ volumeName: "data", mountPath: "/data" }]);
    expect(envOf(app)).toMatchObject({ DATA_DIR: { value: "/data" } });
    expect(envOf(app).DATABASE_URL).toBeUndefined();
    expect(outputs.databaseMode).toBe("embedded");
  });

  it("deploys the prebuilt image by digest without building, and keeps the registry's admin user off", () => {
    expect(resources.filter((r) => r.type === "docker-build:index:Image")).toEqual([]);
    expect(find(resources, "azure-native:app:ContainerApp").inputs.template.containers[0].image).toBe(IMAGE);
    expect(find(resources, "azure-native:containerregistry:Registry").inputs.adminUserEnabled).toBe(false);
    expect(outputs.image).toBe(IMAGE);
  });

  it("protects nothing, and still never deletes the shared AzNS service principal", () => {
    expect(resources.filter((r) => r.options.protect)).toEqual([]);
    const azns = find(resources, "azuread:index/servicePrincipal:ServicePrincipal", (r) => r.inputs.clientId === "461e8683-5575-4561-ac7f-899cc907d62a");
    expect(azns.options.retainOnDelete).toBe(true);
    expect(resources.filter((r) => r.options.retainOnDelete).map((r) => r.type)).toEqual(["azuread:index/servicePrincipal:ServicePrincipal"]);
  });

  it("creates no example alert rules unless asked", () => {
    expect(resources.filter((r) => /MetricAlert|ActivityLogAlert|ScheduledQueryRule/.test(r.type))).toEqual([]);
  });
});
