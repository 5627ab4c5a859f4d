/**
 * Checks recorded resource inputs against the provider SDKs' own declarations in node_modules —
 * the schemas Pulumi generated them from:
 * - a property typed `string | enums.<module>.<Enum>` must hold one of that enum's values (Azure
 *   refuses others, and several enums are case-sensitive: dbforpostgresql PrincipalType is
 *   "servicePrincipal");
 * - a property whose doc comment starts with "Deprecated." must not be set (app ContainerApp
 *   managedEnvironmentId → environmentId).
 * Nested inputs are followed through `inputs.<module>.<Interface>` references in types/input.d.ts.
 */
import { readFileSync } from "node:fs";
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

interface Property {
  doc: string;
  type: string;
}
type Interface = Map<string, Property>;

/** Properties of `interface <name> {…}` at the given indentation, with their doc comments. */
function parseInterface(text: string, name: string, indent: string): Interface | undefined {
  const start = text.indexOf(`${indent}interface ${name} {`);
  const startExport = start < 0 ? text.indexOf(`${indent}export interface ${name} {`) : start;
  if (startExport < 0) return undefined;
  const end = text.indexOf(`\n${indent}}`, startExport);
  const body = text.slice(startExport, end + 1);
  const properties: Interface = new Map();
  // A doc comment (never spanning into the next one), then `name?: type;` on one line.
  const property = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+)\??: (.*);\n/g;
  for (const match of body.matchAll(property)) {
    properties.set(match[2]!, { doc: match[1]!.replace(/^\s*\* ?/gm, "").trim(), type: match[3]! });
  }
  return properties;
}

export interface SchemaProblem {
  path: string;
  problem: string;
}

class PackageSchema {
  private readonly root: string;
  private readonly inputs: string;
  private readonly enums: Record<string, Record<string, Record<string, string>>> = {};
  private readonly cache = new Map<string, Interface | undefined>();

  private readonly pkg: string;
  private readonly namespaced: boolean;

  constructor(pkg: string, namespaced: boolean) {
    this.pkg = pkg;
    this.namespaced = namespaced;
    this.root = dirname(require.resolve(`${pkg}/package.json`));
    this.inputs = readFileSync(join(this.root, "types/input.d.ts"), "utf8");
  }

  private enumValues(module: string, name: string): string[] {
    if (!this.enums[module]) this.enums[module] = require(`${this.pkg}/types/enums/${module}/index.js`);
    const values = this.enums[module]![name];
    if (!values) throw new Error(`${this.pkg}: no enum ${module}.${name}`);
    return Object.values(values);
  }

  /** `inputs.app.ContainerAppProbeArgs` or (azuread, no modules) `inputs.ApplicationApi`. */
  private inputInterface(reference: string): Interface | undefined {
    if (this.cache.has(reference)) return this.cache.get(reference);
    let found: Interface | undefined;
    if (this.namespaced) {
      const [module, name] = reference.split(".") as [string, string];
      const start = this.inputs.indexOf(`export declare namespace ${module} {`);
      const end = this.inputs.indexOf("\n}\n", start);
      found = start < 0 ? undefined : parseInterface(this.inputs.slice(start, end), name, "    ");
    } else {
      found = parseInterface(this.inputs, reference, "");
    }
    this.cache.set(reference, found);
    return found;
  }

  resourceArgs(module: string | undefined, resource: string): Interface {
    const file = module ? join(this.root, module, `${resource[0]!.toLowerCase()}${resource.slice(1)}.d.ts`) : join(this.root, `${resource[0]!.toLowerCase()}${resource.slice(1)}.d.ts`);
    const args = parseInterface(readFileSync(file, "utf8"), `${resource}Args`, "");
    if (!args) throw new Error(`${file}: no ${resource}Args`);
    return args;
  }

  check(shape: Interface, value: unknown, path: string, problems: SchemaProblem[]): void {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return;
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      const property = shape.get(key);
      if (!property || inner === undefined || inner === null) continue;
      const at = `${path}.${key}`;
      if (/^Deprecated\./.test(property.doc)) problems.push({ path: at, problem: `is deprecated: ${property.doc.split("\n")[0]}` });
      const enumRef = /enums\.(\w+)\.(\w+)/.exec(property.type);
      if (enumRef) {
        const override = ENUM_OVERRIDES[at.replace(/\[\d+\]/g, "[]")];
        const allowed = override?.values ?? this.enumValues(enumRef[1]!, enumRef[2]!);
        for (const item of Array.isArray(inner) ? inner : [inner]) {
          if (typeof item === "string" && !allowed.includes(item)) problems.push({ path: at, problem: `"${item}" is not one of ${enumRef[1]}.${enumRef[2]}: ${allowed.join(", ")}` });
        }
      }
      const inputRef = this.namespaced ? /inputs\.(\w+\.\w+)/.exec(property.type) : /inputs\.(\w+)/.exec(property.type);
      const nested = inputRef ? this.inputInterface(inputRef[1]!) : undefined;
      if (nested) {
        if (Array.isArray(inner)) inner.forEach((item, i) => this.check(nested, item, `${at}[${i}]`, problems));
        else this.check(nested, inner, at, problems);
      }
    }
  }
}

const schemas = {
  "azure-native": new PackageSchema("@pulumi/azure-native", true),
  azuread: new PackageSchema("@pulumi/azuread", false),
};

/** Problems of one registered resource's inputs; resource types of other packages are not checked here. */
export function schemaProblems(type: string, inputs: Record<string, unknown>): SchemaProblem[] {
  const [pkg, module, resource] = type.split(":") as [string, string, string];
  const problems: SchemaProblem[] = [];
  if (pkg === "azure-native") schemas["azure-native"].check(schemas["azure-native"].resourceArgs(module, resource), inputs, type, problems);
  // azuread tokens read "azuread:index/application:Application".
  if (pkg === "azuread") schemas.azuread.check(schemas.azuread.resourceArgs(undefined, resource), inputs, type, problems);
  return problems;
}
