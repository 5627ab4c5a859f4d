/**
 * Every way a stack of this project comes to exist passes the Pulumi CLI's configuration check
 * (ported in pulumi-config.ts) and then the program's own (parseStackConfig): each committed
 * Pulumi.<stack>.yaml, a stack made exactly as docs/deploy/pulumi.md's "A new environment" says, a pull request's
 * seeded stack, and a teardown that has no stack file. The CLI runs this check before preview, up
 * and destroy; mocks and the SDK runner never do, which is how 15 required keys once went unseen.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { recordImage } from "../../infra/pipeline/stack-file.ts";
import { seedPreviewConfig } from "../../infra/pipeline/preview-stack.ts";
import { parseRoutingSecrets } from "../../infra/routing-config.ts";
import { CONFIG_KEYS, ROUTING_SECRETS_KEY, SECRET_KEYS, parseStackConfig, type RawConfig, type SecretKey } from "../../infra/stack-config.ts";
import { REPO_ROOT } from "../support/paths.ts";
import { configText, configValue, loadProject, loadStackConfig, validateStackConfigAndApplyProjectConfig, type ConfigMap, type Project } from "./pulumi-config.ts";

const read = (file: string) => readFileSync(join(REPO_ROOT, file), "utf8");
const project = loadProject(read("Pulumi.yaml"));
/** Stands in for the stack's secrets provider: the check only needs to read the value. */
const decrypt = (cipher: string) => `decrypted:${cipher}`;

/** What the program sees: `pulumi.Config.get` returns text, objects as JSON text; secrets through getSecret. */
function programConfig(stackConfig: ConfigMap): { raw: RawConfig; secrets: Set<SecretKey>; routingSecrets: string | undefined } {
  const raw: RawConfig = {};
  const secrets = new Set<SecretKey>();
  let routingSecrets: string | undefined;
  for (const [key, value] of stackConfig) {
    const [namespace, name] = key.split(":") as [string, string];
    if (namespace !== project.name) continue;
    if (name === ROUTING_SECRETS_KEY) {
      if (!value.secure) throw new Error(`${key} holds secrets in plain text: set it with --secret`);
      routingSecrets = configText(value, decrypt);
      continue;
    }
    if ((SECRET_KEYS as readonly string[]).includes(name)) {
      if (value.secure) secrets.add(name as SecretKey);
      continue;
    }
    if (!(CONFIG_KEYS as readonly string[]).includes(name)) throw new Error(`${key} is set but the program never reads it`);
    raw[name] = configText(value, decrypt);
  }
  return { raw, secrets, routingSecrets };
}

/** Runs what `pulumi up` would: the CLI's check, then the program's. */
function deploy(stack: string, stackConfig: ConfigMap, target: Project = project) {
  validateStackConfigAndApplyProjectConfig(stack, target, stackConfig, decrypt);
  const { raw, secrets, routingSecrets } = programConfig(stackConfig);
  return parseStackConfig(stack, raw, secrets, parseRoutingSecrets(routingSecrets).map((s) => s.variable));
}

/** What `az ad signed-in-user show --query id -o tsv` prints: the signed-in user's object id. */
const SIGNED_IN_USER = "5e5e5e5e-0000-4000-8000-00000000005e";

/** The `pulumi` commands of docs/deploy/pulumi.md's "A new environment", as a shell would split them (with `$(az …)` answered). */
function readmeNewEnvironment(): { stack: string; config: ConfigMap } {
  const doc = read("docs/deploy/pulumi.md");
  const section = doc.slice(doc.indexOf("## A new environment"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('docs/deploy/pulumi.md has no ```sh block under "## A new environment"');
  let stack: string | undefined;
  const config: ConfigMap = new Map();
  let ups = 0;
  for (const line of block.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l && !l.startsWith("#"))) {
    const substituted = line.replace(/\$\(az ad signed-in-user show --query id -o tsv\)/g, SIGNED_IN_USER);
    // The resource provider registration (one `az provider register` per namespace) is not the CLI's.
    if (/^(namespaces=\$\(node infra\/pipeline\/cli\.ts resource-providers\)|for namespace in )/.test(substituted)) continue;
    if (substituted.includes("$(")) throw new Error(`docs/deploy/pulumi.md: the test cannot run "${line}"`);
    const words = [...substituted.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
    if (words[0] !== "pulumi") continue;
    if (words[1] === "stack" && words[2] === "init") stack = words[3];
    else if (words[1] === "config" && words[2] === "set") {
      const secret = words.includes("--secret");
      const [key, value] = words.slice(3).filter((w) => !w.startsWith("--"));
      if (!key || value === undefined) throw new Error(`docs/deploy/pulumi.md: cannot read "${line}"`);
      config.set(key.includes(":") ? key : `${project.name}:${key}`, { text: secret ? `cipher-of-${value}` : value, object: false, secure: secret });
    } else if (words[1] === "up") ups++;
  }
  if (!stack || ups !== 1) throw new Error("docs/deploy/pulumi.md's new environment must init one stack and run pulumi up once");
  return { stack, config };
}

describe("the port of the CLI's check (pulumi/pulumi pkg/workspace/config_project_test.go)", () => {
  const testProject = (config: string) => loadProject(`name: test\nruntime: dotnet\nconfig:\n${config}`);

  it("refuses a stack that lacks a declared key without default, listing them as the CLI does", () => {
    const arrays = testProject("  values:\n    type: array\n    items:\n      type: string");
    expect(() => validateStackConfigAndApplyProjectConfig("dev", arrays, new Map(), decrypt)).toThrow("Stack 'dev' is missing configuration value 'values'");
    const three = testProject("  hello:\n    type: integer\n  values:\n    type: array\n    items:\n      type: string\n  world:\n    type: string");
    expect(() => validateStackConfigAndApplyProjectConfig("dev", three, new Map(), decrypt)).toThrow("Stack 'dev' is missing configuration values 'hello', 'values' and 'world'");
  });

  it("refuses wrong types and unencrypted secrets, and applies defaults", () => {
    const integer = testProject("  importantNumber:\n    type: integer");
    expect(() => validateStackConfigAndApplyProjectConfig("dev", integer, loadStackConfig(integer, "config:\n  test:importantNumber: hello"), decrypt)).toThrow(
      "Stack 'dev' with configuration key 'importantNumber' must be of type 'integer'",
    );
    validateStackConfigAndApplyProjectConfig("dev", integer, loadStackConfig(integer, "config:\n  test:importantNumber: 20"), decrypt);
    const array = testProject("  values:\n    type: array\n    items:\n      type: string\n    default: [value]");
    expect(() => validateStackConfigAndApplyProjectConfig("dev", array, loadStackConfig(array, "config:\n  test:values: someValue"), decrypt)).toThrow(
      "Stack 'dev' with configuration key 'values' must be of type 'array<string>'",
    );
    const secret = testProject("  importantNumber:\n    type: integer\n    secret: true");
    expect(() => validateStackConfigAndApplyProjectConfig("dev", secret, loadStackConfig(secret, "config:\n  test:importantNumber: 20"), decrypt)).toThrow(
      "Stack 'dev' with configuration key 'importantNumber' must be encrypted as it's secret",
    );
    const defaults = testProject("  instanceSize:\n    default: t3.micro");
    const stackConfig = new Map();
    validateStackConfigAndApplyProjectConfig("dev", defaults, stackConfig, decrypt);
    expect(stackConfig.get("test:instanceSize")).toEqual({ text: "t3.micro", object: false, secure: false });
  });

  it("would have refused every stack with the Pulumi.yaml this project once had (15 typed keys without default)", () => {
    const old = loadProject(`name: secure-export\nconfig:\n  secure-export:image:\n    type: string\n  secure-export:servicenowUrl:\n    type: string\n  secure-export:location:\n    type: string\n    default: westeurope`);
    expect(() => deploy("dev", loadStackConfig(old, read("Pulumi.dev.yaml")), old)).toThrow("Stack 'dev' is missing configuration values 'secure-export:image' and 'secure-export:servicenowUrl'");
  });
});

describe("every stack of this project passes the CLI's check and the program's", () => {
  const committed = readdirSync(REPO_ROOT).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));

  it("commits dev, prod and the shared preview identity", () => {
    expect(committed.sort()).toEqual(["Pulumi.dev.yaml", "Pulumi.preview-identity.yaml", "Pulumi.prod.yaml"]);
  });

  it.each(committed)("%s", (file) => {
    const stack = file.slice("Pulumi.".length, -".yaml".length);
    const config = loadStackConfig(project, read(file));
    if (stack === "prod" && !config.has("secure-export:image")) {
      // Committed before the first pipeline deploy: prod builds nothing itself (no registry admin user) …
      expect(() => deploy(stack, new Map(config))).toThrow("secure-export:image is required on a protected stack (prod)");
      // … and deploys what the pipeline records, as its first deploy does.
      const recorded = recordImage(read(file), `contososhared.azurecr.io/secure-export-receiver@sha256:${"a".repeat(64)}`, "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/shared/providers/Microsoft.ContainerRegistry/registries/contososhared");
      expect(() => deploy(stack, loadStackConfig(project, recorded.yaml))).not.toThrow();
      return;
    }
    expect(() => deploy(stack, config)).not.toThrow();
  });

  it("a stack made exactly as docs/deploy/pulumi.md's \"A new environment\" says", () => {
    const { stack, config } = readmeNewEnvironment();
    const settings = deploy(stack, config);
    expect(settings.connectors.serviceNow).toBeDefined();
    expect(settings.identity).toEqual({ kind: "own", owners: [SIGNED_IN_USER], readers: [], operators: [SIGNED_IN_USER] });
  });

  it("the routing example in docs/deploy/pulumi.md's Configuration: rules as a YAML mapping, routingSecrets as a secure object", () => {
    const doc = read("docs/deploy/pulumi.md");
    const section = doc.slice(doc.indexOf("**Routing rules.**"));
    const stackFile = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    const command = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
    if (!stackFile || !command) throw new Error("docs/deploy/pulumi.md's routing example lost its stack file or its command");
    const stackConfig = loadStackConfig(project, stackFile);
    // The CLI keeps an object with a `secure` leaf as one secure object (config/value.go), decrypted leaf by leaf.
    expect(stackConfig.get("secure-export:routingSecrets")).toMatchObject({ object: true, secure: true });
    const settings = deploy("staging", stackConfig);
    const rules = JSON.parse(settings.routingRules!);
    expect(Object.keys(rules.connectors)).toEqual(["snow-retail"]);
    expect(rules.connectors["snow-retail"].auth.clientSecretEnv).toBe("SNOW_RETAIL_CLIENT_SECRET");
    // The documented command writes the very entry the stack file shows.
    const path = /--path '([^']+)'/.exec(command)?.[1];
    expect(path).toBe("secure-export:routingSecrets.SNOW_RETAIL_CLIENT_SECRET");
    // Without that entry and with `to: [snow-prod]` in the last route, it is refused with the error the doc shows.
    stackConfig.delete("secure-export:routingSecrets");
    const routing = JSON.parse(stackConfig.get("secure-export:routing")!.text);
    routing.routes.at(-1).to = ["snow-prod"];
    stackConfig.set("secure-export:routing", configValue(routing));
    const shown = /gives:\n\n```\n([\s\S]*?)\n```/.exec(section)?.[1];
    if (!shown) throw new Error("docs/deploy/pulumi.md's routing example lost the error it shows");
    expect(() => deploy("staging", stackConfig)).toThrow(shown);
  });

  it("a pull request's stack as the pipeline seeds it from Pulumi.dev.yaml", () => {
    const image = `contosopreviews.azurecr.io/secure-export-receiver@sha256:${"0".repeat(64)}`;
    const seeded = seedPreviewConfig(read("Pulumi.dev.yaml"), 42, {
      identityStack: "organization/secure-export/preview-identity",
      image,
      imageRegistryId: "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/secexp-previews/providers/Microsoft.ContainerRegistry/registries/contosopreviews",
    });
    const settings = deploy("pr-42", loadStackConfig(project, seeded.yaml));
    expect(settings).toMatchObject({ preview: true, databaseMode: "embedded", protect: false, image });
  });

  it("a teardown with no stack file (destroy falls back to the backend's last config, at worst empty; it runs the CLI's check, not the program)", () => {
    for (const stack of ["pr-42", "dev", "prod"]) expect(() => validateStackConfigAndApplyProjectConfig(stack, project, new Map(), decrypt)).not.toThrow();
  });

  it("Pulumi.yaml declares no required key, so no stack can lack one", () => {
    const ours = (key: string) => !key.includes(":") || key.startsWith(`${project.name}:`);
    const required = Object.entries(project.config).filter(([key, type]) => ours(key) && type.default === undefined && type.value === undefined);
    expect(required).toEqual([]);
  });
});
