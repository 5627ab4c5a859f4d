/** Reading configuration from environment variables, with one clear error naming the variable. */
import { readFileSync } from "node:fs";

export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = "ConfigError";
    this.variable = variable;
  }
}

export type Env = Record<string, string | undefined>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function text(env: Env, name: string, fallback?: string): string {
  const value = env[name]?.trim();
  if (value) return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(name, "is required but not set");
}

export function list(env: Env, name: string, fallback?: string): string[] {
  const items = text(env, name, fallback)
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0) throw new ConfigError(name, "must list at least one value");
  return items;
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function guid(env: Env, name: string): string {
  const value = text(env, name);
  if (!GUID.test(value)) throw new ConfigError(name, `must be a GUID (the Entra tenant id), got "${value}"`);
  return value.toLowerCase();
}

export function httpUrl(env: Env, name: string, fallback?: string): string {
  const value = text(env, name, fallback);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, `must be an absolute URL, got "${value}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(name, `must be an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, "");
}

/** Unset or empty is undefined; `NAME_FILE` (a mounted secret) is read when NAME itself is unset. */
export function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  if (value) return value;
  const file = env[`${name}_FILE`]?.trim();
  if (!file) return undefined;
  try {
    return readFileSync(file, "utf8").trim() || undefined;
  } catch (error) {
    throw new ConfigError(`${name}_FILE`, `names a file that cannot be read: ${(error as Error).message}`);
  }
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `5m`, `1h`, `1d` in milliseconds; null when the text is not such a duration. */
export function parseDuration(value: string): number | null {
  const match = /^(\d+)([smhd])$/.exec(value.trim());
  if (!match || Number(match[1]) === 0) return null;
  return Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
}

/** A duration variable (`15m`), or `off` (null) when `allowOff`. */
export function duration(env: Env, name: string, fallback: string, bounds: { minMs: number; maxMs: number; allowOff?: boolean }): number | null {
  const raw = text(env, name, fallback);
  if (bounds.allowOff && raw.toLowerCase() === "off") return null;
  const ms = parseDuration(raw);
  if (ms === null || ms < bounds.minMs || ms > bounds.maxMs) {
    throw new ConfigError(name, `must be a duration from ${bounds.minMs / 1000} s to ${bounds.maxMs / 3_600_000} h like 90s, 5m or 1h${bounds.allowOff ? ", or off" : ""}, got "${raw}"`);
  }
  return ms;
}

/** `on` or `off` (also true/false, 1/0). */
export function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (["on", "true", "1"].includes(raw)) return true;
  if (["off", "false", "0"].includes(raw)) return false;
  throw new ConfigError(name, `must be "on" or "off", got "${env[name]}"`);
}
