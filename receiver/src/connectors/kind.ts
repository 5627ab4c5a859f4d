/**
 * What an ITSM tool is to the receiver: its settings (declared once, connectors/<tool>/settings.ts),
 * the incident fields routes may set (connectors/<tool>/fields.ts) and its client. Everything that
 * reads a connector's configuration — the environment variables, the routing rules, the rules'
 * schema, the Pulumi preview check, the settings reference — goes through the functions here, fed
 * with the tool's declaration, so a new tool is a folder and a line in kinds.ts.
 */
import { ConfigError, optional, text as envText, type Env } from "../env.ts";
import type { Connector } from "../outbox/delivery.ts";
import {
  credentialsFromEnv,
  credentialsFromRules,
  credentialVariables,
  type AuthSpec,
  type CredentialOptions,
  type Credentials,
  type SecretReader,
  type SettingProblem,
} from "./credentials.ts";
import { SettingError, variableFor, type Setting, type SettingValue } from "./settings.ts";

/** One field an incident carries in the tool, as a route's `set` names it. */
export interface FieldSpec {
  /** The field's name in the tool's API. */
  apiField: string;
  /** The exact values the tool accepts, when it is a choice; a bare number picks the value it starts with. */
  choices?: readonly string[];
}

/** The fields one kind of record takes (ServiceNow's incidents and events differ). The id is stored with each incident's routing. */
export interface FieldProfile {
  id: string;
  label: string;
  fields: Readonly<Record<string, FieldSpec>>;
}

type Settings = Readonly<Record<string, Setting<unknown>>>;

/** How a connector of a kind signs in: a tool without OAuth only ever gets a user. */
export type CredentialsOf<O extends CredentialOptions> = O extends { oauth: false } ? Extract<Credentials, { type: "basic" }> : Credentials;

/** A connector's configuration: its kind, how it signs in, and every declared setting. */
export type ConfigOf<Id extends string, S extends Settings, O extends CredentialOptions = CredentialOptions> = { kind: Id; auth: CredentialsOf<O> } & {
  -readonly [K in keyof S]: SettingValue<S[K]>;
};

export interface ConnectorKind<Id extends string = string, S extends Settings = Settings, O extends CredentialOptions = CredentialOptions> {
  /** `kind:` in the rules. */
  id: Id;
  /** How messages and docs name the tool. */
  label: string;
  /** Its environment variables start with this (SERVICENOW_). */
  prefix: string;
  credentials: O;
  /** Every setting besides `kind` and `auth`, `url` first: the rules keys, in the reference's order. */
  settings: S;
  /** The field profiles the tool has, and which one a connector of it uses. */
  profiles: readonly FieldProfile[];
  profileOf(spec: { readonly [key: string]: unknown }): FieldProfile;
  create(name: string, config: ConfigOf<Id, S, O>): Connector;
}

/** Declares a tool, keeping its types: `defineKind({...})` in connectors/<tool>/index.ts. */
export function defineKind<const Id extends string, const S extends Settings, const O extends CredentialOptions>(kind: ConnectorKind<Id, S, O>): ConnectorKind<Id, S, O> {
  if (!("url" in kind.settings) || Object.keys(kind.settings)[0] !== "url") throw new Error(`${kind.label}: the first setting must be url (it turns the connector on)`);
  return kind;
}

/** The variable a setting of a kind maps onto: SERVICENOW_CI_TABLE. */
export function settingVariable(kind: ConnectorKind, key: string): string {
  return `${kind.prefix}${variableFor(key, kind.settings[key]!)}`;
}

/** Every variable a kind reads, secrets included (each secret also as NAME_FILE). */
export function kindVariables(kind: ConnectorKind): string[] {
  const secrets = credentialVariables(kind.credentials).map((v) => `${kind.prefix}${v}`);
  return [...Object.keys(kind.settings).map((key) => settingVariable(kind, key)), ...secrets];
}

/** How many single-character edits turn a into b (Levenshtein); small enough not to need a package. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Variables with a tool's prefix that do nothing: a name the tool does not read (a typo such as
 * SERVICENOW_ULR), or settings given while `<PREFIX>URL` is not, which leave the connector off.
 * Either would otherwise be ignored without a word. `ignore` holds the variables the routing rules
 * name for secrets, which are the user's to name.
 */
export function strayConnectorVariables(kind: ConnectorKind, env: Env, ignore: ReadonlySet<string> = new Set()): ConfigError[] {
  const known = kindVariables(kind).flatMap((v) => [v, `${v}_FILE`]);
  const given = Object.keys(env).filter((name) => name.startsWith(kind.prefix) && env[name]?.trim() && !ignore.has(name));
  const problems = given
    .filter((name) => !known.includes(name))
    .map((name) => {
      const closest = [...known].sort((a, b) => distance(name, a) - distance(name, b))[0]!;
      const hint = distance(name, closest) <= 3 ? `; did you mean ${closest}?` : `; ${kind.label} reads ${kindVariables(kind).join(", ")}`;
      return new ConfigError(name, `is not a variable the receiver reads${hint}`);
    });
  const url = settingVariable(kind, "url");
  if (problems.length === 0 && !optional(env, url)) {
    const orphans = given.filter((name) => known.includes(name));
    if (orphans.length > 0) {
      problems.push(new ConfigError(url, `is not set, so ${orphans.join(", ")} ${orphans.length === 1 ? "does" : "do"} nothing: set ${url} to turn the ${kind.label} connector on, or unset ${orphans.length === 1 ? "it" : "them"}`));
    }
  }
  return problems;
}

/** The environment door: undefined when `<PREFIX>URL` is unset. Throws ConfigError naming the variable. */
export function configFromEnv<Id extends string, S extends Settings, O extends CredentialOptions>(kind: ConnectorKind<Id, S, O>, env: Env): ConfigOf<Id, S, O> | undefined {
  const urlVariable = settingVariable(kind, "url");
  if (!optional(env, urlVariable)) return undefined;
  const auth = credentialsFromEnv(env, kind.prefix, kind.credentials);
  const values: Record<string, unknown> = {};
  for (const [key, declared] of Object.entries(kind.settings)) {
    const variable = settingVariable(kind, key);
    // The URL, like the secrets, may come from a mounted file (SERVICENOW_URL_FILE).
    const raw = key === "url" ? optional(env, variable) : env[variable]?.trim() || undefined;
    if (raw === undefined) {
      if (declared.required) envText(env, variable);
      values[key] = declared.fallback;
      continue;
    }
    try {
      values[key] = declared.fromText(raw);
    } catch (error) {
      if (error instanceof SettingError) throw new ConfigError(variable, error.message);
      throw error;
    }
  }
  return { kind: kind.id, auth, ...values } as ConfigOf<Id, S, O>;
}

/** A connector as the rules declare it (its shape already checked against the rules' schema). */
export interface ConnectorSpec {
  kind: string;
  auth: AuthSpec;
  [setting: string]: unknown;
}

/**
 * The rules door: null, with every problem added, when the connector cannot be built. Problems are
 * placed below the connector (`at`); the caller adds its path in the rules.
 */
export function configFromRules<Id extends string, S extends Settings, O extends CredentialOptions>(
  kind: ConnectorKind<Id, S, O>,
  spec: ConnectorSpec,
  read: SecretReader,
  problems: SettingProblem[],
): ConfigOf<Id, S, O> | null {
  const before = problems.length;
  const auth = credentialsFromRules(spec.auth, kind.credentials, read, problems);
  const values: Record<string, unknown> = {};
  for (const [key, declared] of Object.entries(kind.settings)) {
    const given = spec[key];
    if (given === undefined) {
      if (declared.required) problems.push({ code: "invalid_value", at: [key], message: "is required but not set" });
      values[key] = declared.fallback;
      continue;
    }
    try {
      values[key] = typeof given === "string" ? declared.fromText(given) : declared.fromRules(given);
    } catch (error) {
      if (!(error instanceof SettingError)) throw error;
      problems.push({ code: "invalid_value", at: [key, ...error.at], message: error.message });
    }
  }
  if (problems.length > before || !auth) return null;
  return { kind: kind.id, auth, ...values } as ConfigOf<Id, S, O>;
}
