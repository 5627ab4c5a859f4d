/** Total readers for untrusted JSON: each returns a value of its type or undefined, never throws. */

export type JsonObject = Record<string, unknown>;

export function obj(value: unknown): JsonObject | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Strings as they are; numbers and booleans as text (service health sends enums as numbers). */
export function str(value: unknown): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

export function num(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

/** A value that may be an array or a JSON-encoded array (service health `impactedServices`). */
export function arrOrJson(value: unknown): unknown[] {
  if (typeof value !== "string") return arr(value);
  try {
    return arr(JSON.parse(value));
  } catch {
    return [];
  }
}

/** Drops undefined members so the stored summary only says what the payload said. */
export function compact<T extends JsonObject>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<T>;
}
