/**
 * Reads rules text (YAML, or JSON, which is YAML too) into a value, checks its shape against
 * rules-schema.ts, and maps every problem's path back to the line and column it comes from, with
 * the `yaml` package's own document model and LineCounter.
 */
import { Ajv, type ErrorObject } from "ajv";
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { problem, type LocatedProblem, type Problem, type RulesPath } from "./problems.ts";
import { RulesDocument } from "./rules-schema.ts";

// allErrors: one start-up lists every problem. verbose: errors carry their schema, which the
// messages below quote (allowed keys, enumerations).
const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, coerceTypes: false, useDefaults: false, removeAdditional: false });
const validateShape = ajv.compile(RulesDocument);

export interface ParsedRules {
  /** Null for an empty document (nothing but comments): the same as no rules. */
  value: unknown;
  locate(problem: Problem): LocatedProblem;
}

function pathOf(pointer: string): (string | number)[] {
  if (pointer === "") return [];
  return pointer
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/** A JSON Schema type in the words of someone editing YAML. */
function typeInWords(type: string): string {
  switch (type) {
    case "array":
      return "a list";
    case "object":
      return "a mapping of keys to values";
    case "string":
      return "text";
    case "boolean":
      return "true or false";
    case "integer":
      return "a whole number";
    default:
      return `a ${type}`;
  }
}

/** What was found instead, briefly. */
function found(value: unknown): string {
  if (value === null) return "nothing (null)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return JSON.stringify(value);
}

/** One Ajv error as a problem, in words a person editing the rules can act on. */
function shapeProblem(error: ErrorObject): Problem {
  const path = pathOf(error.instancePath);
  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(error.params.additionalProperty);
      const allowed = Object.keys((error.parentSchema?.properties as object | undefined) ?? {});
      return problem("unknown_key", [...path, key], `is not a known key here${allowed.length ? `; expected one of: ${allowed.join(", ")}` : ""}`);
    }
    case "required":
      return problem("missing_key", [...path, String(error.params.missingProperty)], "is required");
    case "type":
      return problem("wrong_type", path, `must be ${typeInWords(String(error.params.type))}, got ${found(error.data)}`);
    case "enum":
      return problem("invalid_value", path, `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}, got ${found(error.data)}`);
    case "minItems":
      return problem("empty", path, "must list at least one entry");
    case "minLength":
      return problem("empty", path, "must not be empty");
    case "minProperties":
      return problem("empty", path, "must name at least one key");
    case "pattern":
      return problem("invalid_value", path, `must be ${String(error.parentSchema?.description ?? `text matching ${String(error.params.pattern)}`)}, got ${found(error.data)}`);
    default:
      return problem("invalid_value", path, error.message ?? "is invalid");
  }
}

/** Problems about a key itself are shown at the key; problems about a value, at the value. */
const AT_KEY = new Set<Problem["code"]>(["unknown_key", "missing_key", "inline_secret", "duplicate_name"]);

/**
 * The node a path points at, or its nearest ancestor that exists (a missing key points at the
 * mapping that lacks it, by that mapping's own key).
 */
function nodeAt(doc: Document, path: RulesPath, atKey: boolean): Node | null {
  for (let depth = path.length; depth > 0; depth--) {
    const parent = depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true);
    const last = path[depth - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(last));
      if (pair && isScalar(pair.key)) return !atKey && depth === path.length && isNode(pair.value) ? pair.value : pair.key;
    } else if (isSeq(parent) && typeof last === "number") {
      const item = parent.items[last];
      if (isNode(item)) return item;
    }
  }
  return isNode(doc.contents) ? doc.contents : null;
}

export function parseRules(text: string): { parsed: ParsedRules | null; problems: LocatedProblem[] } {
  const lineCounter = new LineCounter();
  // uniqueKeys (the default) makes a repeated key an error rather than "last one wins".
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      parsed: null,
      problems: doc.errors.map((error) => {
        const position = lineCounter.linePos(error.pos[0]);
        return { code: "syntax", path: [], message: `is not valid YAML or JSON: ${error.message.split("\n")[0]}`, line: position.line, column: position.col };
      }),
    };
  }
  const locate = (p: Problem): LocatedProblem => {
    const node = nodeAt(doc, p.path, AT_KEY.has(p.code));
    const position = node?.range ? lineCounter.linePos(node.range[0]) : { line: 1, col: 1 };
    return { ...p, line: position.line, column: position.col };
  };
  return { parsed: { value: doc.toJS({ maxAliasCount: 100 }), locate }, problems: [] };
}

/** Shape problems of a parsed value; none means it is a RulesDocument. */
export function shapeProblems(value: unknown): Problem[] {
  if (validateShape(value)) return [];
  return (validateShape.errors ?? []).map(shapeProblem);
}
