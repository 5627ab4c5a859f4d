/**
 * The Pulumi CLI's stack-configuration check, ported from its source so tests can apply it to our
 * stacks without a CLI. `pulumi preview`, `up` and `destroy` run it before the program starts
 * (pkg/cmd/pulumi/operations/{preview,up,destroy}.go → ValidateStackConfigAndApplyProjectConfig).
 *
 * Ported from pulumi/pulumi @ 1b5949891b3c (2026-08-21):
 * - sdk/go/common/resource/config/value.go: Value.unmarshalValue (an object holding a `secure` leaf
 *   is a secure object), Value.Value (decrypts each leaf and marshals the object), hasSecureValue,
 *   isSecureValue, decryptObject;
 * - pkg/workspace/config.go: mergeConfig, validateStackConfigValues, validateStackConfigValue,
 *   parseConfigKey, createConfigValue, missingStackConfigurationKeysError, formatMissingKeys;
 * - sdk/go/common/workspace/project.go: ValidateConfigValue, InferFullTypeName, Project.Validate
 *   (config part), configKeyIsNamespacedByProject.
 * The stack environment (ESC) merge is left out: our stacks use none.
 */
import { parse } from "yaml";

export interface ProjectConfigType {
  type?: "string" | "integer" | "boolean" | "array" | "object";
  items?: { type: string; items?: ProjectConfigType["items"] };
  description?: string;
  secret?: boolean;
  default?: unknown;
  value?: unknown;
}

export interface Project {
  name: string;
  config: Record<string, ProjectConfigType>;
}

/** A stack config value as the CLI holds it: text, whether it is an object (JSON text), whether it is encrypted. */
export interface ConfigValue {
  text: string;
  object: boolean;
  secure: boolean;
}
export type ConfigMap = Map<string, ConfigValue>;

export function loadProject(yamlText: string): Project {
  const raw = (parse(yamlText) ?? {}) as { name?: string; config?: Record<string, unknown> };
  if (!raw.name) throw new Error("project is missing a 'name' attribute");
  const config: Record<string, ProjectConfigType> = {};
  for (const [key, value] of Object.entries(raw.config ?? {})) {
    // Shorthand `key: value` is an untyped value (project.go: ProjectConfigType.UnmarshalYAML).
    config[key] = value !== null && typeof value === "object" && !Array.isArray(value) ? (value as ProjectConfigType) : { value };
  }
  const project = { name: raw.name, config };
  validateProject(project);
  return project;
}

function isPrimitive(value: unknown): boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/** isSecureValue: a mapping of exactly one key, `secure`, holding text. */
function secureLeaf(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return undefined;
  const entries = Object.entries(raw);
  return entries.length === 1 && entries[0]![0] === "secure" && typeof entries[0]![1] === "string" ? entries[0]![1] : undefined;
}

/** hasSecureValue: a secure leaf anywhere inside. */
function hasSecureValue(raw: unknown): boolean {
  if (secureLeaf(raw) !== undefined) return true;
  if (Array.isArray(raw)) return raw.some(hasSecureValue);
  return raw !== null && typeof raw === "object" && Object.values(raw).some(hasSecureValue);
}

/** createConfigValue / unmarshalValue: primitives become their text, anything else JSON text marked as an object, secure when a leaf is. */
export function configValue(raw: unknown): ConfigValue {
  const leaf = secureLeaf(raw);
  if (leaf !== undefined) return { text: leaf, object: false, secure: true };
  if (isPrimitive(raw)) return { text: String(raw), object: false, secure: false };
  return { text: JSON.stringify(raw), object: true, secure: hasSecureValue(raw) };
}

/** decryptObject: every secure leaf replaced by its plain text. */
function decryptObject(raw: unknown, decrypt: (cipher: string) => string): unknown {
  const leaf = secureLeaf(raw);
  if (leaf !== undefined) return decrypt(leaf);
  if (Array.isArray(raw)) return raw.map((item) => decryptObject(item, decrypt));
  if (raw !== null && typeof raw === "object") return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, decryptObject(v, decrypt)]));
  return raw;
}

/** Value.Value: the text the program receives (PULUMI_CONFIG), secrets decrypted; an object as JSON text. */
export function configText(value: ConfigValue, decrypt: (cipher: string) => string): string {
  if (!value.secure) return value.text;
  if (value.object) return JSON.stringify(decryptObject(JSON.parse(value.text), decrypt));
  return decrypt(value.text);
}

/** A stack file's `config:` block, keys namespaced (a bare key belongs to the project). */
export function loadStackConfig(project: Project, yamlText: string): ConfigMap {
  const raw = (parse(yamlText) ?? {}) as { config?: Record<string, unknown> };
  const map: ConfigMap = new Map();
  for (const [key, value] of Object.entries(raw.config ?? {})) map.set(parseConfigKey(project.name, key), configValue(value));
  return map;
}

function parseConfigKey(projectName: string, key: string): string {
  return key.includes(":") ? key : `${projectName}:${key}`;
}

function configKeyIsNamespacedByProject(projectName: string, key: string): boolean {
  return !key.includes(":") || key.startsWith(`${projectName}:`);
}

function inferFullTypeName(type: string, items?: ProjectConfigType["items"]): string {
  return items ? `array<${inferFullTypeName(items.type, items.items)}>` : type;
}

/** ValidateConfigValue (project.go). */
export function validateConfigValue(type: string, items: ProjectConfigType["items"] | undefined, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      if (typeof value === "number") return Number.isInteger(value);
      // Go's strconv.Atoi: optional sign, decimal digits only.
      return typeof value === "string" && /^[+-]?\d+$/.test(value);
    case "boolean":
      return value === "true" || value === "false" || typeof value === "boolean";
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    default:
      if (!Array.isArray(value) || !items) return false;
      return value.every((item) => validateConfigValue(items.type, items.items, item));
  }
}

/** Project.Validate, the config part: it runs when Pulumi.yaml is loaded. */
function validateProject(project: Project): void {
  for (const [key, type] of Object.entries(project.config)) {
    if (type.default !== undefined && type.value !== undefined) throw new Error(`project config '${key}' cannot have both a 'default' and 'value' attribute`);
    if (configKeyIsNamespacedByProject(project.name, key)) {
      if (type.type === "array" && !type.items) throw new Error(`The configuration key '${key}' declares an array but does not specify the underlying type via the 'items' attribute`);
      if (type.type && type.default !== undefined && !validateConfigValue(type.type, type.items, type.default)) {
        throw new Error(`The default value specified for configuration key '${key}' is not of the expected type '${inferFullTypeName(type.type, type.items)}'`);
      }
    } else {
      if (type.type) throw new Error(`Configuration key '${key}' is not namespaced by the project and should not define a type`);
      if (type.default !== undefined) throw new Error(`Configuration key '${key}' is not namespaced by the project and should not define a default value. Did you mean to use the 'value' attribute instead of 'default'?`);
      if (type.value === undefined) throw new Error(`Configuration key '${key}' is namespaced and must provide an attribute 'value'`);
    }
  }
}

function formatMissingKeys(keys: string[]): string {
  if (keys.length === 1) return `'${keys[0]}'`;
  const sorted = [...keys].sort();
  return sorted.map((key, i) => (i === sorted.length - 1 ? `and '${key}'` : i === sorted.length - 2 ? `'${key}' ` : `'${key}', `)).join("");
}

/**
 * mergeConfig with validate=true: applies the project's defaults/values to the stack's config (in
 * place) and throws the CLI's own error when a required key is missing or a value has the wrong
 * type or should be secret. `decrypt` stands for the stack's decrypter.
 */
export function validateStackConfigAndApplyProjectConfig(stackName: string, project: Project, stackConfig: ConfigMap, decrypt: (cipher: string) => string): void {
  const missing: string[] = [];
  for (const projectKey of Object.keys(project.config).sort()) {
    const type = project.config[projectKey]!;
    const key = parseConfigKey(project.name, projectKey);
    const found = stackConfig.has(key);
    const hasDefault = type.default !== undefined;
    const hasValue = type.value !== undefined;
    if (!found && !hasValue && !hasDefault && key.split(":")[0] === project.name) {
      missing.push(projectKey);
      continue;
    }
    if (!found && (hasValue || hasDefault)) stackConfig.set(key, configValue(hasDefault ? type.default : type.value));
  }
  if (missing.length > 0) throw new Error(`Stack '${stackName}' is missing configuration ${missing.length > 1 ? "values" : "value"} ${formatMissingKeys(missing)}`);

  for (const projectKey of Object.keys(project.config).sort()) {
    const type = project.config[projectKey]!;
    if (!type.type) continue;
    const value = stackConfig.get(parseConfigKey(project.name, projectKey));
    if (!value) continue;
    if (type.secret && !value.secure) throw new Error(`Stack '${stackName}' with configuration key '${projectKey}' must be encrypted as it's secret`);
    const text = configText(value, decrypt);
    const content: unknown = value.object ? JSON.parse(text) : text;
    if (!validateConfigValue(type.type, type.items, content)) {
      throw new Error(`Stack '${stackName}' with configuration key '${projectKey}' must be of type '${inferFullTypeName(type.type, type.items)}'`);
    }
  }
}
