/**
 * Checks recorded resource inputs against the provider SDKs' own declarations in node_modules —
 * the schemas Pulumi generated them from, their doc comments being the schemas' descriptions:
 * - every input key is a property of the resource's `…Args` interface (or of the nested input
 *   interface it references): a misspelt or invented key is dropped or refused by the provider;
 * - every property declared without `?` is set;
 * - a property typed `number` / `boolean` holds one;
 * - a property typed `string | enums.<module>.<Enum>` holds one of that enum's values (Azure
 *   refuses others, and several enums are case-sensitive: dbforpostgresql PrincipalType is
 *   "servicePrincipal");
 * - a number is within the "Minimum value is N" / "Maximum value is N" its doc comment states
 *   (app ContainerAppProbeArgs: failureThreshold 1–10, timeoutSeconds 1–240, …);
 * - a string documented as a Go duration (`time.ParseDuration`, @pulumiverse/time Sleep) parses as one;
 * - a property whose doc comment starts with "Deprecated." is not set (app ContainerApp
 *   managedEnvironmentId → environmentId).
 * Nested inputs are followed through `inputs.…` references in types/input.d.ts, maps through their
 * value type. A resource type of a package not listed here is a problem itself: a new provider
 * cannot slip past the check.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/**
 * Where the SDK's flattened enums are wrong for one resource: two Azure APIs of a module define an
 * enum of the same name, and the SDK keeps one. Each entry names the REST schema it follows.
 */
const ENUM_OVERRIDES: Record<string, { values: string[]; source: string }> = {
  // monitor.ConditionOperator in the SDK holds another API's values (eq, ne, gt…);
  // Microsoft.Insights/scheduledQueryRules Condition.operator is
  // 'Equals' | 'GreaterThan' | 'GreaterThanOrEqual' | 'LessThan' | 'LessThanOrEqual'
  // (Azure/bicep-types-az generated/monitor/microsoft.insights/*/types.md, scheduledQueryRules).
  "azure-native:monitor:ScheduledQueryRule.criteria.allOf[].operator": {
    values: ["Equals", "GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual"],
    source: "Azure/bicep-types-az microsoft.insights scheduledQueryRules",
  },
};

/**
 * Go's time.ParseDuration grammar (go/src/time/format.go): an optional sign, then one or more
 * decimal numbers each with a unit among ns, us, µs, ms, s, m, h; or "0".
 */
const GO_DURATION = /^[-+]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;

interface Property {
  doc: string;
  type: string;
  optional: boolean;
}
type Interface = Map<string, Property>;

/** The text of `interface <name> {…}` (exported or not) at the given indentation, or undefined. */
function interfaceBody(text: string, name: string, indent: string): string | undefined {
  for (const head of [`${indent}export interface ${name} {`, `${indent}interface ${name} {`]) {
    const start = text.indexOf(`\n${head}`);
    if (start < 0) continue;
    const end = text.indexOf(`\n${indent}}`, start + head.length);
    return text.slice(start + head.length + 1, end + 1);
  }
  return undefined;
}

/**
 * The properties of an interface body: `name?: type;` at the body's top level (a type may span
 * lines: `pulumi.Input<{\n [key: string]: …;\n}>`), each with the doc comment right before it.
 */
function parseProperties(body: string): Interface {
  const properties: Interface = new Map();
  let doc = "";
  let pending: { name: string; optional: boolean; type: string; doc: string } | undefined;
  let depth = 0;
  for (const line of body.split("\n")) {
    if (pending) {
      pending.type += ` ${line.trim()}`;
      depth += count(line, "{<(") - count(line, "}>)");
      if (depth <= 0 && line.trim().endsWith(";")) {
        properties.set(pending.name, { doc: pending.doc, type: pending.type.replace(/;$/, ""), optional: pending.optional });
        pending = undefined;
      }
      continue;
    }
    const docOne = /^\s*\/\*\*([\s\S]*)\*\/\s*$/.exec(line);
    if (docOne) {
      doc = docOne[1]!.trim();
      continue;
    }
    if (/^\s*\/\*\*/.test(line)) {
      doc = "";
      continue;
    }
    if (/^\s*\*\//.test(line)) continue;
    const inDoc = /^\s*\*\s?(.*)$/.exec(line);
    if (inDoc) {
      doc += `${doc ? "\n" : ""}${inDoc[1]}`;
      continue;
    }
    const declaration = /^\s*(?:readonly\s+)?(\w+)(\?)?: (.*)$/.exec(line);
    if (!declaration) continue;
    const [, name, optional, rest] = declaration as unknown as [string, string, string | undefined, string];
    depth = count(rest, "{<(") - count(rest, "}>)");
    if (depth <= 0 && rest.endsWith(";")) properties.set(name, { doc: doc.trim(), type: rest.replace(/;$/, ""), optional: optional === "?" });
    else pending = { name, optional: optional === "?", type: rest, doc: doc.trim() };
    doc = "";
  }
  return properties;
}

function count(text: string, characters: string): number {
  // `=>` in a function type is not a closing bracket.
  return [...text.replace(/=>/g, "")].filter((c) => characters.includes(c)).length;
}

export interface SchemaProblem {
  path: string;
  problem: string;
}

interface PackageLayout {
  /** The npm package. */
  pkg: string;
  /** `inputs.<module>.<Name>` (azure-native, command) or `inputs.<Name>`. */
  namespacedInputs: boolean;
  /** The `.d.ts` file declaring the resource's Args, from the type token's parts. */
  resourceFile(module: string, resource: string): string;
}

const lowerFirst = (s: string) => `${s[0]!.toLowerCase()}${s.slice(1)}`;

class PackageSchema {
  private readonly root: string;
  private readonly inputs: string;
  private readonly enums: Record<string, Record<string, Record<string, string>>> = {};
  private readonly cache = new Map<string, Interface | undefined>();

  private readonly layout: PackageLayout;

  constructor(layout: PackageLayout) {
    this.layout = layout;
    this.root = dirname(require.resolve(`${layout.pkg}/package.json`));
    // A package whose resources take only plain values ships no types/input.d.ts (@pulumi/random).
    const inputs = join(this.root, "types/input.d.ts");
    this.inputs = existsSync(inputs) ? readFileSync(inputs, "utf8") : "";
  }

  private enumValues(module: string | undefined, name: string): string[] {
    const key = module ?? "";
    if (!this.enums[key]) this.enums[key] = require(`${this.layout.pkg}/types/enums${module ? `/${module}` : ""}/index.js`);
    const values = this.enums[key]![name];
    if (!values) throw new Error(`${this.layout.pkg}: no enum ${module ? `${module}.` : ""}${name}`);
    return Object.values(values);
  }

  /** `inputs.app.ContainerAppProbeArgs` or (no modules) `inputs.ApplicationApi`. */
  private inputInterface(reference: string): Interface | undefined {
    if (this.cache.has(reference)) return this.cache.get(reference);
    let body: string | undefined;
    if (this.layout.namespacedInputs) {
      const [module, name] = reference.split(".") as [string, string];
      const start = this.inputs.indexOf(`export declare namespace ${module} {`);
      const end = this.inputs.indexOf("\n}\n", start);
      body = start < 0 ? undefined : interfaceBody(this.inputs.slice(start, end + 1), name, "    ");
    } else {
      body = interfaceBody(this.inputs, reference, "");
    }
    const found = body === undefined ? undefined : parseProperties(body);
    this.cache.set(reference, found);
    return found;
  }

  resourceArgs(module: string, resource: string): Interface {
    const file = join(this.root, this.layout.resourceFile(module, resource));
    const body = interfaceBody(readFileSync(file, "utf8"), `${resource}Args`, "");
    if (body === undefined) throw new Error(`${file}: no ${resource}Args`);
    return parseProperties(body);
  }

  check(shape: Interface, value: unknown, path: string, problems: SchemaProblem[]): void {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return;
    const object = value as Record<string, unknown>;
    for (const [key, property] of shape) {
      if (!property.optional && (object[key] === undefined || object[key] === null)) problems.push({ path: `${path}.${key}`, problem: "is required and not set" });
    }
    for (const [key, inner] of Object.entries(object)) {
      const at = `${path}.${key}`;
      const property = shape.get(key);
      if (!property) {
        problems.push({ path: at, problem: `is not an input the schema knows (known: ${[...shape.keys()].sort().join(", ")})` });
        continue;
      }
      if (inner === undefined || inner === null) continue;
      this.checkValue(property, inner, at, problems);
    }
  }

  private checkValue(property: Property, inner: unknown, at: string, problems: SchemaProblem[]): void {
    const { doc, type } = property;
    if (/^Deprecated\./.test(doc)) problems.push({ path: at, problem: `is deprecated: ${doc.split("\n")[0]}` });
    const items = Array.isArray(inner) ? inner : [inner];
    const base = type.replace(/pulumi\.Input<|>|\[\]| \| undefined/g, "").trim();
    for (const item of items) {
      if (base === "number" && typeof item !== "number") problems.push({ path: at, problem: `must be a number, got ${JSON.stringify(item)}` });
      if (base === "boolean" && typeof item !== "boolean") problems.push({ path: at, problem: `must be a boolean, got ${JSON.stringify(item)}` });
      if (typeof item === "number") {
        const min = /Minimum value is (-?\d+(?:\.\d+)?)/.exec(doc);
        const max = /Maximum value is (-?\d+(?:\.\d+)?)/.exec(doc);
        if (min && item < Number(min[1])) problems.push({ path: at, problem: `${item} is below the schema's minimum ${min[1]}` });
        if (max && item > Number(max[1])) problems.push({ path: at, problem: `${item} is above the schema's maximum ${max[1]}` });
      }
      if (typeof item === "string" && /golang\.org\/pkg\/time\/#ParseDuration/.test(doc) && !GO_DURATION.test(item)) {
        problems.push({ path: at, problem: `"${item}" is not a Go duration (time.ParseDuration: 30s, 5m, 1h30m)` });
      }
    }
    const enumRef = this.layout.namespacedInputs ? /enums\.(\w+)\.(\w+)/.exec(type) : /enums\.(\w+)/.exec(type);
    if (enumRef) {
      const [module, name] = this.layout.namespacedInputs ? [enumRef[1]!, enumRef[2]!] : [undefined, enumRef[1]!];
      const override = ENUM_OVERRIDES[at.replace(/\[\d+\]/g, "[]")];
      const allowed = override?.values ?? this.enumValues(module, name);
      for (const item of items) {
        if (typeof item === "string" && !allowed.includes(item)) problems.push({ path: at, problem: `"${item}" is not one of ${module ? `${module}.` : ""}${name}: ${allowed.join(", ")}` });
      }
    }
    // A union of input interfaces (monitor MetricAlert criteria: Dynamic | Static, told apart by
    // criterionType) holds whichever member the value fits: the one with the fewest problems.
    const references = [...type.matchAll(this.layout.namespacedInputs ? /inputs\.(\w+\.\w+)/g : /inputs\.(\w+)/g)].map((m) => m[1]!);
    const members = references.flatMap((r) => this.inputInterface(r) ?? []);
    if (members.length === 0) return;
    const isMap = /\[key: string\]/.test(type);
    const checkOne = (item: unknown, where: string) => {
      const candidates = members.map((shape) => {
        const found: SchemaProblem[] = [];
        this.check(shape, item, where, found);
        return found;
      });
      problems.push(...candidates.reduce((best, c) => (c.length < best.length ? c : best)));
    };
    for (const [i, item] of items.entries()) {
      const where = Array.isArray(inner) ? `${at}[${i}]` : at;
      if (isMap && item && typeof item === "object") for (const [k, v] of Object.entries(item)) checkOne(v, `${where}.${k}`);
      else checkOne(item, where);
    }
  }
}

/** Every provider package the program may register resources of, by the first part of its type tokens. */
const PACKAGES: Record<string, PackageLayout> = {
  // azure-native:app:ContainerApp → app/containerApp.d.ts
  "azure-native": { pkg: "@pulumi/azure-native", namespacedInputs: true, resourceFile: (module, resource) => join(module, `${lowerFirst(resource)}.d.ts`) },
  // azuread:index/application:Application → application.d.ts
  azuread: { pkg: "@pulumi/azuread", namespacedInputs: false, resourceFile: (module) => `${module.split("/")[1]}.d.ts` },
  // time:index/sleep:Sleep → sleep.d.ts
  time: { pkg: "@pulumiverse/time", namespacedInputs: false, resourceFile: (module) => `${module.split("/")[1]}.d.ts` },
  // random:index/randomId:RandomId → randomId.d.ts
  random: { pkg: "@pulumi/random", namespacedInputs: false, resourceFile: (module) => `${module.split("/")[1]}.d.ts` },
  // docker-build:index:Image → image.d.ts
  "docker-build": { pkg: "@pulumi/docker-build", namespacedInputs: false, resourceFile: (_module, resource) => `${lowerFirst(resource)}.d.ts` },
  // command:local:Command → local/command.d.ts
  command: { pkg: "@pulumi/command", namespacedInputs: true, resourceFile: (module, resource) => join(module, `${lowerFirst(resource)}.d.ts`) },
};

const schemas = new Map<string, PackageSchema>();
function schemaOf(pkg: string): PackageSchema | undefined {
  const layout = PACKAGES[pkg];
  if (!layout) return undefined;
  if (!schemas.has(pkg)) schemas.set(pkg, new PackageSchema(layout));
  return schemas.get(pkg);
}

/**
 * Problems of one registered resource's inputs. Pulumi's own types (the stack, a StackReference)
 * and this program's components have no provider schema; any other unknown package is a problem.
 */
export function schemaProblems(type: string, inputs: Record<string, unknown>): SchemaProblem[] {
  const [pkg, module, resource] = type.split(":") as [string, string, string];
  if (pkg === "pulumi" || pkg === "secure-export") return [];
  const schema = schemaOf(pkg);
  if (!schema) return [{ path: type, problem: `no provider schema is known for package "${pkg}": add it to PACKAGES in test/infra/provider-schema.ts` }];
  const problems: SchemaProblem[] = [];
  schema.check(schema.resourceArgs(module, resource), inputs, type, problems);
  return problems;
}
