/**
 * The program loaded the way `pulumi preview` loads it, offline: the SDK's own `cmd/run` (what the
 * CLI's Node language host runs, here with typescript off as Pulumi.yaml says) against a fake
 * engine and resource monitor speaking the gRPC services shipped in @pulumi/pulumi/proto. vitest
 * resolves modules its own way; this catches an entry, import path or syntax that only breaks
 * under the real loader.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/processes.ts";
import { INVOKES, computed } from "./pulumi-mocks.ts";

const require = createRequire(import.meta.url);
const resourceGrpc = require("@pulumi/pulumi/proto/resource_grpc_pb.js");
const resourcePb = require("@pulumi/pulumi/proto/resource_pb.js");
const enginePb = require("@pulumi/pulumi/proto/engine_pb.js");
const engineGrpc = require("@pulumi/pulumi/proto/engine_grpc_pb.js");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb.js");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb.js");

interface Registration {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const registrations: Registration[] = [];
const logs: Array<{ severity: number; message: string }> = [];
const invokes: string[] = [];
let server: grpc.Server;
let address: string;

function unary(handler: (request: any) => unknown) {
  return (call: any, callback: (error: Error | null, response?: unknown) => void) => {
    try {
      callback(null, handler(call.request));
    } catch (error) {
      callback(error as Error);
    }
  };
}

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(resourceGrpc.ResourceMonitorService, {
    supportsFeature: unary(() => new resourcePb.SupportsFeatureResponse().setHassupport(false)),
    registerResource: unary((request) => {
      const type = request.getType();
      const name = request.getName();
      const inputs = request.getObject()?.toJavaScript() ?? {};
      registrations.push({ type, name, inputs });
      const response = new resourcePb.RegisterResourceResponse();
      response.setUrn(`urn:pulumi:pr-99::secure-export::${type}::${name}`);
      if (request.getCustom()) response.setId(`${name}-id`);
      response.setObject(Struct.fromJavaScript({ ...inputs, ...computed(type, name, inputs) }));
      return response;
    }),
    registerResourceOutputs: unary(() => new Empty()),
    invoke: unary((request) => {
      const token = request.getTok();
      invokes.push(token);
      const result = INVOKES[token];
      if (!result) throw new Error(`unexpected invoke ${token}`);
      return new resourcePb.ResourceInvokeResponse().setReturn(Struct.fromJavaScript(result));
    }),
  });
  server.addService(engineGrpc.EngineService, {
    log: unary((request) => {
      logs.push({ severity: request.getSeverity(), message: request.getMessage() });
      return new Empty();
    }),
    getRootResource: unary(() => new enginePb.GetRootResourceResponse().setUrn("")),
    setRootResource: unary(() => new enginePb.SetRootResourceResponse()),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(() => server?.forceShutdown());

/** What Pulumi.yaml tells the CLI: the entry and whether the language host should use ts-node. */
function projectFile(): { main: string; typescript: boolean } {
  const yaml = readFileSync(join(REPO_ROOT, "Pulumi.yaml"), "utf8");
  const main = /^main:\s*(\S+)/m.exec(yaml)?.[1];
  const typescript = /^\s+typescript:\s*(true|false)/m.exec(yaml)?.[1];
  if (!main || !typescript) throw new Error("Pulumi.yaml must set main and runtime.options.typescript");
  return { main, typescript: typescript === "true" };
}

describe("the program under the Pulumi SDK's own runner", () => {
  it("loads infra/index.ts as Pulumi.yaml declares it and registers the whole stack", async () => {
    const project = projectFile();
    expect(project).toEqual({ main: "infra/index.ts", typescript: false });
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, "node_modules/@pulumi/pulumi/cmd/run"), `--monitor=${address}`, `--engine=${address}`, "--project=secure-export", "--stack=pr-99", `--pwd=${REPO_ROOT}`, "--dry-run", project.main],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH,
          PULUMI_NODEJS_TYPESCRIPT: String(project.typescript),
          PULUMI_CONFIG: JSON.stringify({ "secure-export:image": "registry.example.com/receiver@sha256:abc" }),
          PULUMI_CONFIG_SECRET_KEYS: "[]",
        },
      },
    );
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect({ code, output, errors: logs.filter((l) => l.severity >= 3) }).toMatchObject({ code: 0, errors: [] });

    const types = registrations.map((r) => r.type);
    expect(types[0]).toBe("pulumi:pulumi:Stack");
    for (const expected of [
      "azuread:index/application:Application",
      "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri",
      "azuread:index/appRoleAssignment:AppRoleAssignment",
      "azure-native:app:ContainerApp",
      "azure-native:monitor:ActionGroup",
    ]) {
      expect(types).toContain(expected);
    }
    expect(invokes).toEqual(expect.arrayContaining(["azure-native:authorization:getClientConfig", "azuread:index/getClientConfig:getClientConfig"]));
  }, 90_000);
});
