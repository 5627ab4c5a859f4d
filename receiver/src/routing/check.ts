/**
 * The one door into the receiver that the Pulumi program (infra/) uses, besides contract.ts:
 * checking routing rules text before anything is deployed, with the receiver's own checker, and
 * the variable names of each tool's settings. It reads no secret and calls no tool; the packages
 * it loads (typebox, ajv, yaml, croner) are listed in the root package.json, which the Pulumi
 * program runs from.
 */
import { secretReferences as authSecretReferences, type AuthSpec } from "../connectors/credentials.ts";
import { settingVariable } from "../connectors/kind.ts";
import { kindOf } from "../connectors/kinds.ts";
import { SettingError } from "../connectors/settings.ts";
import { compileRulesText, type ConnectorShape } from "./load-rules.ts";
import { formatProblem, type LocatedProblem, type ProblemCode, type RulesPath } from "./problems.ts";
import { parseRules } from "./rules-document.ts";

export { ROUTING_RULES } from "./load-rules.ts";
export { formatProblem, type ConnectorShape, type LocatedProblem };

/** Where the rules name a secret (`auth.passwordEnv` …), at its line in the text. */
export interface SecretReference {
  path: RulesPath;
  key: "passwordEnv" | "passwordFile" | "clientSecretEnv" | "clientSecretFile";
  value: string;
  line: number;
  column: number;
}

export interface RulesCheck {
  problems: LocatedProblem[];
  /** The rules work, but probably not as meant (a hold shorter than Azure needs to resolve): show them, deploy anyway. */
  warnings: LocatedProblem[];
  secretReferences: SecretReference[];
  /** A problem of the caller's own at a path of the text, located like the checker's. */
  locate(code: ProblemCode, path: RulesPath, message: string): LocatedProblem;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Every problem in rules text, without reading any secret: for checks made before the receiver
 * runs (a Pulumi preview of `secure-export:routing`, a CI step). Secret references are checked for
 * form only, and listed so the caller can tell whether it provides them. `environment` lists the
 * connectors today's variables will configure.
 */
export function checkRules(text: string, environment: readonly ConnectorShape[] = []): RulesCheck {
  const { problems, warnings } = compileRulesText(text, environment, () => "unread");
  const { parsed } = parseRules(text);
  const locate = (code: ProblemCode, path: RulesPath, message: string): LocatedProblem =>
    parsed ? parsed.locate({ code, path, message }) : { code, path, message, line: 1, column: 1 };
  const connectors = parsed && isObject(parsed.value) && isObject(parsed.value.connectors) ? parsed.value.connectors : {};
  const secretReferences = Object.entries(connectors).flatMap(([name, spec]) => {
    if (!isObject(spec) || !isObject(spec.auth)) return [];
    return authSecretReferences(spec.auth as AuthSpec).map(({ key, value }) => {
      const { line, column } = locate("secret_unavailable", ["connectors", name, "auth", key], "");
      return { path: ["connectors", name, "auth", key], key, value, line, column };
    });
  });
  return { problems, warnings, secretReferences, locate };
}

/** The environment variable a tool's setting maps onto (`servicenow`, `url` → SERVICENOW_URL); `auth` keys name its credential variables. */
export function connectorVariable(kindId: string, key: "url" | "mode" | "firstName" | "lastName" | "username" | "password" | "clientId" | "clientSecret" | (string & {})): string {
  const kind = kindOf(kindId);
  if (!kind) throw new Error(`no connector kind ${JSON.stringify(kindId)}`);
  const credential = new Map([["username", "USERNAME"], ["password", "PASSWORD"], ["clientId", "CLIENT_ID"], ["clientSecret", "CLIENT_SECRET"]]).get(key);
  if (credential) return `${kind.prefix}${credential}`;
  if (!(key in kind.settings)) throw new Error(`${kind.label} has no setting ${JSON.stringify(key)}`);
  return settingVariable(kind, key);
}

/** What is wrong with a tool's setting given as its variable's text (`credentialExpiresAt`, `2027-02-30`), in the receiver's words; null when nothing. */
export function connectorSettingProblem(kindId: string, key: string, text: string): string | null {
  const declared = kindOf(kindId)?.settings[key];
  if (!declared) throw new Error(`${kindId} has no setting ${JSON.stringify(key)}`);
  try {
    declared.fromText(text);
    return null;
  } catch (error) {
    if (error instanceof SettingError) return error.message;
    throw error;
  }
}
