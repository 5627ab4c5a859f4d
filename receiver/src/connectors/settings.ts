/**
 * The kinds of setting an ITSM tool declares (connectors/<tool>/settings.ts), each with both of its
 * doors: the rules form (`connectors.<name>.<key>` in the routing rules, primary) and the environment
 * variable it maps onto (`<PREFIX><VARIABLE>`). A setting is declared once — its shape for the rules
 * schema, its default, its checks, its variable and its line in the docs — and read the same way
 * through either door, so a check or a default cannot differ between them.
 */
import Type, { type TSchema } from "typebox";
import { SEVERITIES, type Severity } from "../alerts/schema.ts";
import { parseDuration } from "../env.ts";

export type SeverityKey = Severity | "none";
export type SeverityMap = Readonly<Record<SeverityKey, string>>;
export const SEVERITY_KEYS: readonly SeverityKey[] = [...SEVERITIES, "none"];

/** What is wrong with one value; the door it came through adds the variable or the rules path. */
export class SettingError extends Error {
  /** Below the setting's own key, where the problem is (a severity map's entry). */
  readonly at: readonly string[];
  constructor(message: string, at: readonly string[] = []) {
    super(message);
    this.name = "SettingError";
    this.at = at;
  }
}

export interface Setting<T> {
  /** The variable's name after the tool's prefix, e.g. CI_TABLE for SERVICENOW_CI_TABLE. */
  readonly variable: string | undefined;
  /** One line for the settings reference. */
  readonly doc: string;
  /** The default as the reference shows it; undefined when there is none. */
  readonly shownDefault: string | undefined;
  /** Without a value: the default, or undefined when optional. Required settings throw. */
  readonly required: boolean;
  /** The rules form's shape (JSON Schema), checked before any setting is read. */
  readonly schema: TSchema;
  /** From the variable's text (the environment door). Throws SettingError. */
  fromText(text: string): T;
  /** From the value in the rules (already of the schema's shape). Throws SettingError. */
  fromRules(value: unknown): T;
  /** The value when none is given. */
  readonly fallback: T | undefined;
}

/** A setting's value type: optional without a default, as declared otherwise. */
export type SettingValue<S> = S extends Setting<infer T> & { readonly required: infer R; readonly fallback: infer F } ? (R extends true ? T : [F] extends [undefined] ? T | undefined : T) : never;

interface Common {
  /** Overrides the variable name derived from the key (ciTable → CI_TABLE). */
  variable?: string;
  doc: string;
}

function setting<T>(options: Common & { required?: boolean; fallback?: T; shownDefault?: string; schema: TSchema; fromText(text: string): T; fromRules?(value: unknown): T }): Setting<T> {
  return {
    variable: options.variable,
    doc: options.doc,
    shownDefault: options.shownDefault,
    required: options.required ?? false,
    schema: options.schema,
    fromText: options.fromText,
    fromRules: options.fromRules ?? ((value) => options.fromText(String(value))),
    fallback: options.fallback,
  };
}

const quoted = (values: readonly string[]) => values.map((v) => JSON.stringify(v)).join(", ");

/** Free text, optionally bounded by the field it ends up in. */
export function text<const O extends Common & { default?: string; required?: boolean; maxLength?: { max: number; why: string } }>(
  options: O,
): Setting<string> & { readonly fallback: O["default"]; readonly required: O["required"] extends true ? true : false } {
  const check = (value: string) => {
    const trimmed = value.trim();
    if (options.maxLength && trimmed.length > options.maxLength.max) {
      throw new SettingError(`must be at most ${options.maxLength.max} characters (${options.maxLength.why}), got ${trimmed.length}`);
    }
    return trimmed;
  };
  return setting({
    ...options,
    doc: options.maxLength ? `${options.doc} (at most ${options.maxLength.max} characters: ${options.maxLength.why})` : options.doc,
    fallback: options.default,
    shownDefault: options.default === undefined ? undefined : `\`${options.default}\``,
    schema: Type.String({ minLength: 1 }),
    fromText: check,
  }) as never;
}

/** An absolute http(s) URL, kept without a trailing slash. */
export function url(options: Common & { required: true }): Setting<string> & { readonly required: true; readonly fallback: undefined } {
  return setting({
    ...options,
    schema: Type.String({ minLength: 1 }),
    fromText(value) {
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        throw new SettingError(`must be an absolute URL, got "${value}"`);
      }
      if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new SettingError(`must be an http(s) URL, got "${value}"`);
      return value.replace(/\/+$/, "");
    },
  }) as never;
}

/** One of a fixed list. */
export function choice<const C extends readonly string[]>(choices: C, options: Common & { default: C[number] }): Setting<C[number]> & { readonly required: false; readonly fallback: C[number] } {
  return setting({
    ...options,
    fallback: options.default,
    shownDefault: `\`${options.default}\``,
    schema: Type.Enum([...choices]),
    fromText(value) {
      if (!choices.includes(value)) {
        throw new SettingError(choices.length === 2 ? `must be "${choices[0]}" or "${choices[1]}", got "${value}"` : `must be one of ${quoted(choices)}, got "${value}"`);
      }
      return value as C[number];
    },
  }) as never;
}

/**
 * A value of an ITSM choice list given as itself or by its number: `2` (YAML reads it as a number)
 * stands for "2" in ServiceNow and "2-High" in BMC Helix.
 */
export function choiceValue(choices: readonly string[], value: unknown): string | null {
  const given = typeof value === "number" && Number.isInteger(value) ? String(value) : typeof value === "string" ? value.trim() : null;
  if (given === null) return null;
  return choices.find((c) => c === given) ?? choices.find((c) => c.split("-")[0] === given) ?? null;
}

/**
 * Severity → an ITSM choice. As a variable every key is mapped (`Sev0=1,…,none=3`; `none` is for
 * budget alerts, which carry no severity); in the rules a partial map is merged over the defaults.
 */
export function severityMap(choices: readonly string[], options: Common & { default: SeverityMap }): Setting<SeverityMap> & { readonly required: false; readonly fallback: SeverityMap } {
  const pick = (severity: string, value: unknown, at: readonly string[]) => {
    const chosen = choiceValue(choices, value);
    if (chosen === null) throw new SettingError(`must be one of ${quoted(choices)}, got ${JSON.stringify(value)}`, at);
    return chosen;
  };
  return setting({
    ...options,
    fallback: options.default,
    shownDefault: `\`${SEVERITY_KEYS.map((k) => `${k}=${options.default[k]}`).join(",")}\``,
    schema: Type.Object(Object.fromEntries(SEVERITY_KEYS.map((s) => [s, Type.Optional(Type.Unknown())])), { additionalProperties: false }),
    fromText(value) {
      const entries = value.split(",").map((entry) => entry.trim()).filter(Boolean).map((entry) => entry.split("="));
      const map: Record<string, string> = {};
      for (const [key, given] of entries.map(([k, v]) => [k?.trim() ?? "", v?.trim()] as const)) {
        if (!SEVERITY_KEYS.includes(key as SeverityKey) || !given) throw new SettingError(`entry "${key}=${given ?? ""}" must be SevN=value or none=value`);
        map[key] = pick(key, given, []);
      }
      const missing = SEVERITY_KEYS.filter((key) => !map[key]);
      if (missing.length) throw new SettingError(`must map ${missing.join(", ")}`);
      return map as SeverityMap;
    },
    fromRules(value) {
      const map: Record<string, string> = { ...options.default };
      for (const [severity, given] of Object.entries(value as Record<string, unknown>)) map[severity] = pick(severity, given, [severity]);
      return map as SeverityMap;
    },
  }) as never;
}

/** Field name → value, added as they are to what the tool is sent. */
export function stringRecord(options: Common): Setting<Readonly<Record<string, string>>> & { readonly required: false; readonly fallback: Readonly<Record<string, string>> } {
  return setting({
    ...options,
    fallback: {},
    shownDefault: "`{}`",
    schema: Type.Record(Type.String(), Type.String()),
    fromText(value) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        throw new SettingError("must be a JSON object of field names to values");
      }
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== "string")) {
        throw new SettingError("must be a JSON object of field names to string values");
      }
      return parsed as Record<string, string>;
    },
    fromRules: (value) => ({ ...(value as Record<string, string>) }),
  }) as never;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Entra application (client) ids: a comma-separated variable, a list in the rules. Kept lower-cased. */
export function clientIds(options: Common): Setting<readonly string[]> & { readonly required: false; readonly fallback: readonly string[] } {
  const check = (items: readonly string[], at: (i: number) => string[]) =>
    items.map((item, i) => {
      if (!GUID.test(item)) throw new SettingError(`must list application (client) ids, GUIDs like 00000000-0000-0000-0000-000000000000; "${item}" is not one`, at(i));
      return item.toLowerCase();
    });
  return setting({
    ...options,
    fallback: [],
    shownDefault: "none",
    schema: Type.Array(Type.String({ minLength: 1 })),
    fromText: (value) => check(value.split(",").map((v) => v.trim()).filter(Boolean), () => []),
    fromRules: (value) => check(value as string[], (i) => [String(i)]),
  }) as never;
}

/** A period like `5m`, between `min` and a day; unset: off. */
export function period(options: Common & { minMs: number }): Setting<number> & { readonly required: false; readonly fallback: undefined } {
  return setting({
    ...options,
    schema: Type.String({ minLength: 1 }),
    fromText(value) {
      const ms = parseDuration(value);
      if (ms === null || ms < options.minMs || ms > 86_400_000) throw new SettingError(`must be a period from ${options.minMs / 60_000}m to 1d like 5m or 1h, got "${value}"`);
      return ms;
    },
  }) as never;
}

/**
 * A day or an instant (`2027-03-31` or `2027-03-31T12:00:00Z`), kept as an ISO instant; a day means
 * its start in UTC. (The rules' YAML 1.2 core schema reads an unquoted 2027-03-31 as text.)
 */
export function date(options: Common): Setting<string> & { readonly required: false; readonly fallback: undefined } {
  const check = (value: string) => {
    const day = /^\d{4}-\d{2}-\d{2}$/.test(value);
    const instant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
    const ms = Date.parse(day ? `${value}T00:00:00Z` : value);
    // Date.parse rolls 2027-02-30 over to March: a date that does not round-trip does not exist.
    if ((!day && !instant) || Number.isNaN(ms) || (day && new Date(ms).toISOString().slice(0, 10) !== value)) {
      throw new SettingError(`must be a date like 2027-03-31 or an instant like 2027-03-31T12:00:00Z, got "${value}"`);
    }
    return new Date(ms).toISOString();
  };
  return setting({
    ...options,
    schema: Type.String({ minLength: 1 }),
    fromText: (value) => check(value.trim()),
  }) as never;
}

/** `ciTable` → `CI_TABLE`: the variable a rules key maps onto when its setting names none. */
export function variableFor(key: string, declared: Setting<unknown>): string {
  return declared.variable ?? key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}
