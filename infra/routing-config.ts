/**
 * `secure-export:routing` (the receiver's routing rules, docs/routing.md#routing-admission-and-maintenance-rules)
 * and `secure-export:routingSecrets` (the secrets their connectors name), checked before any
 * resource exists. Pure: takes the text Pulumi hands the program, returns values or throws
 * StackConfigError naming the key.
 *
 * The rules are checked by the receiver's own checker (receiver/src/routing/check.ts), on exactly the text the
 * receiver will get in ROUTING_RULES, so a line number in a refusal here is one in the receiver's
 * error too. What only the stack knows is checked here: that every passwordEnv / clientSecretEnv
 * names a variable the stack sets, and that no *File reference names a file (the stack mounts none).
 */
import { checkRules, formatProblem, type ConnectorShape, type LocatedProblem, type RulesCheck } from "../receiver/src/routing/check.ts";
import { ruleProblem } from "./azure-names.ts";
import { StackConfigError } from "./stack-config-error.ts";

/** A variable the receiver reads (what `passwordEnv` may name): the connectors' own rule (connectors/credentials.ts). */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Keeps routing secrets apart from the stack's own Container App secrets (servicenow-password, …). */
const SECRET_PREFIX = "routing-";

/** One entry of routingSecrets: the receiver variable, and the Container App secret it references. */
export interface RoutingSecret<T = string> {
  variable: string;
  secretName: string;
  value: T;
}

/** `SNOW_CORP_PASSWORD` → `routing-snow-corp-password`: Container App secret names are lower case, '-' only. */
export function routingSecretName(variable: string): string {
  return `${SECRET_PREFIX}${variable.toLowerCase().replace(/_+/g, "-").replace(/^-+|-+$/g, "")}`;
}

/**
 * routingSecrets as Pulumi hands it over: JSON text of the whole object, whether it was set as one
 * secret object or key by key with `--secret --path` (the CLI decrypts each `secure` leaf and
 * marshals the object: pulumi/pulumi sdk/go/common/resource/config/value.go, Value.Value).
 */
export function parseRoutingSecrets(text: string | undefined): RoutingSecret[] {
  if (text === undefined || text.trim() === "") return [];
  const usage = `must be an object of receiver variable names to secret values, e.g. pulumi config set --secret --path 'routingSecrets.SNOW_CORP_PASSWORD' '…'`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new StackConfigError("routingSecrets", usage);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new StackConfigError("routingSecrets", usage);
  const problems: string[] = [];
  const secrets: RoutingSecret[] = [];
  const bySecretName = new Map<string, string>();
  for (const [variable, value] of Object.entries(parsed)) {
    if (!VARIABLE_NAME.test(variable)) {
      problems.push(`${JSON.stringify(variable)} is not an environment variable name (letters, digits and '_', not starting with a digit)`);
      continue;
    }
    if (typeof value !== "string" || value.trim() === "") {
      problems.push(`${variable} must be a non-empty text value`);
      continue;
    }
    const secretName = routingSecretName(variable);
    const nameProblem = ruleProblem("containerAppSecret", secretName);
    if (nameProblem) problems.push(`${variable} cannot become a Container App secret: ${nameProblem}`);
    const clash = bySecretName.get(secretName);
    if (clash) problems.push(`${clash} and ${variable} would both become the Container App secret "${secretName}": rename one`);
    bySecretName.set(secretName, variable);
    secrets.push({ variable, secretName, value });
  }
  if (problems.length > 0) throw new StackConfigError("routingSecrets", problems.length === 1 ? problems[0]! : `has ${problems.length} problems:\n  ${problems.join("\n  ")}`);
  return secrets;
}

/** What only the stack can tell: every secret reference resolves to a variable the stack sets. */
function referenceProblems(check: RulesCheck, provided: ReadonlySet<string>): LocatedProblem[] {
  return check.secretReferences.flatMap(({ path, key, value }) => {
    if (key.endsWith("File")) {
      const envKey = key.replace(/File$/, "Env");
      return [check.locate("secret_unavailable", path, `names a file, but the stack mounts no secret files: use ${envKey} with a secure-export:routingSecrets entry`)];
    }
    // A malformed name is the receiver's checker's to report.
    if (!VARIABLE_NAME.test(value) || provided.has(value)) return [];
    return [
      check.locate(
        "secret_unavailable",
        path,
        `names ${value}, which neither secure-export:routingSecrets nor the stack's connector secrets provide: pulumi config set --secret --path 'secure-export:routingSecrets.${value}' '…'`,
      ),
    ];
  });
}

/**
 * What `pulumi preview` shows as warnings and deploys anyway: rules that work, but probably not as
 * meant (a noise hold shorter than Azure needs to resolve the alerts it takes in, a hold on
 * stateless alerts: docs/noise.md#holds-and-azures-resolve-timing), with the line and field in the
 * text the receiver gets. Rules the stack refuses are routingRules' to report.
 */
export function routingRuleWarnings(routing: string | undefined): string[] {
  if (routing === undefined || routing.trim() === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(routing);
  } catch {
    return [];
  }
  return checkRules(JSON.stringify(value, null, 2)).warnings.map((w) => `secure-export:routing (ROUTING_RULES): ${formatProblem(w)}`);
}

/**
 * The ROUTING_RULES text for the receiver, or undefined without rules. `routing` is the config
 * value as Pulumi hands it over (JSON text of the object in Pulumi.<stack>.yaml); `environment`
 * lists the connectors the stack's servicenow* / bmcHelix* keys configure; `provided` every
 * variable holding a secret the stack sets (its connector secrets and routingSecrets).
 */
export function routingRules(routing: string | undefined, environment: readonly ConnectorShape[], provided: ReadonlySet<string>): string | undefined {
  if (routing === undefined || routing.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(routing);
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new StackConfigError("routing", "must be the rules as an object (a YAML mapping under secure-export:routing in Pulumi.<stack>.yaml: admission, connectors, routes, maintenance)");
  }
  // Indented: the receiver's and this check's line numbers then point at one field per line.
  const text = JSON.stringify(value, null, 2);
  const check = checkRules(text, environment);
  const located: LocatedProblem[] = [...check.problems, ...referenceProblems(check, provided)];
  if (located.length === 0) return text;
  located.sort((a, b) => a.line - b.line || a.column - b.column);
  const lines = located.map(formatProblem);
  throw new StackConfigError(
    "routing",
    `${lines.length === 1 ? "has a problem" : `has ${lines.length} problems`} (lines of ROUTING_RULES, the rules as the receiver gets them: JSON indented by 2):\n  ${lines.join("\n  ")}`,
  );
}
