/** `secure-export:metrics false`: no collector sidecar, no Application Insights component; the receiver alone is a valid size. */
import { beforeAll, describe, expect, it } from "vitest";
import { DEPLOYER_OBJECT_ID, find, runProgram, type Registered } from "./pulumi-mocks.ts";

let resources: Registered[];

beforeAll(async () => {
  ({ resources } = await runProgram({ stack: "staging", config: { metrics: "false", databaseMode: "embedded", owners: DEPLOYER_OBJECT_ID } }));
});

describe("a stack with metrics off", () => {
  it("runs the receiver alone, sized for the embedded store, and creates no Application Insights component", () => {
    const app = find(resources, "azure-native:app:ContainerApp");
    expect(app.inputs.template.containers.map((c: { name: string; resources: unknown }) => [c.name, c.resources])).toEqual([["receiver", { cpu: 1, memory: "2Gi" }]]);
    expect(app.inputs.configuration.secrets ?? []).toEqual([]);
    expect(resources.filter((r) => r.type === "azure-native:applicationinsights:Component")).toEqual([]);
  });
});
