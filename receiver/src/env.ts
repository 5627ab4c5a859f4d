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
