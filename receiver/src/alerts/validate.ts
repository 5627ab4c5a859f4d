/**
 * Validates a parsed body against the common alert schema with Ajv, and says which field is wrong
 * in words a person configuring an action group can act on.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { CommonAlert } from "./schema.ts";

// ajv-formats is CommonJS: under ESM its plugin is the `default` member of module.exports.
const addFormats = addFormatsModule.default;

export type Validation = { ok: true; alert: CommonAlert } | { ok: false; field: string; message: string };

// Coercion and stripping stay off: what is stored must be what Azure sent.
const ajv = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: false, strict: false });
addFormats(ajv, ["date-time"]);
const validateCommonAlert: ValidateFunction = ajv.compile(CommonAlert);

/** The compiled validator, for routes that hand validation to Fastify. */
export const commonAlertValidator = validateCommonAlert;

function fieldOf(error: ErrorObject): string {
  const path = error.instancePath.split("/").slice(1).map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (error.keyword === "required") path.push(String(error.params.missingProperty));
  return path.length > 0 ? path.join(".") : "body";
}

function expectation(error: ErrorObject): string {
  switch (error.keyword) {
    case "required":
      return "is required";
    case "enum":
      return `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "const":
      return `must be ${JSON.stringify(error.params.allowedValue)}`;
    case "type":
      return `must be ${error.params.type === "null" ? "null" : `a${/^[aeiou]/.test(String(error.params.type)) ? "n" : ""} ${error.params.type}`}`;
    case "format":
      return `must be an ISO 8601 ${error.params.format} (got an invalid value)`;
    case "minLength":
      return "must not be empty";
    default:
      return error.message ?? "is invalid";
  }
}

/** One sentence naming the first failing field and everything it could have been. */
export function describeErrors(errors: readonly ErrorObject[]): { field: string; message: string } {
  const concrete = errors.filter((error) => error.keyword !== "anyOf");
  const first = concrete[0] ?? errors[0];
  if (!first) return { field: "body", message: "body is not a common alert schema notification" };
  const field = fieldOf(first);
  const alternatives = [...new Set(concrete.filter((error) => fieldOf(error) === field).map(expectation))];
  return { field, message: `${field} ${alternatives.join(" or ")}` };
}

export function validateAlert(body: unknown): Validation {
  if (validateCommonAlert(body)) return { ok: true, alert: body as CommonAlert };
  return { ok: false, ...describeErrors(validateCommonAlert.errors ?? []) };
}
