/**
 * The incident fields a route may `set`, checked and mapped with the tool's own field profile
 * (connectors/<tool>/fields.ts): one table drives both validation at start-up and what a connector
 * sends, so they cannot drift apart.
 */
import type { FieldProfile } from "./kind.ts";
import { choiceValue } from "./settings.ts";

/** Checks one `set` value for a profile: the normalised value, or why it is refused. */
export function checkSetValue(profile: FieldProfile, key: string, value: unknown): { value: string } | { error: string } {
  const spec = profile.fields[key];
  if (!spec) {
    return { error: `is not a field ${profile.label} incidents take; use one of: ${Object.keys(profile.fields).join(", ")}` };
  }
  if (spec.choices) {
    const chosen = choiceValue(spec.choices, value);
    return chosen === null
      ? { error: `must be one of ${spec.choices.map((c) => JSON.stringify(c)).join(", ")} for ${profile.label}, got ${JSON.stringify(value)}` }
      : { value: chosen };
  }
  // YAML reads `assignmentGroup: 4711` as a number; a group or category named by digits is still text.
  if (typeof value === "number" && Number.isFinite(value)) return { value: String(value) };
  if (typeof value !== "string" || value.trim() === "") return { error: `must be non-empty text, got ${JSON.stringify(value)}` };
  return { value: value.trim() };
}

/** The `set` of a route as the tool's API fields, for the connector to merge into what it sends. */
export function apiFields(profile: FieldProfile, set: Readonly<Record<string, string>>): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(set)) {
    const spec = profile.fields[key];
    if (spec) fields[spec.apiField] = value;
  }
  return fields;
}
