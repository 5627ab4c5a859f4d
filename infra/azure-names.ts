/**
 * Azure's naming rules for the resources the program names, and the names it gives them. Pure.
 *
 * Most resources are auto-named by azure-native: the logical name plus 8 random hexadecimal
 * characters, no separator (pulumi/pulumi-azure-native#3406), and the provider does not check
 * Azure's rules (#4294). A stack name that breaks a rule would fail half-way through the first
 * `pulumi up`; `stackNameProblems` finds that before anything is created.
 *
 * Rules: Microsoft Learn, "Naming rules and restrictions for Azure resources"
 * (azure-resource-manager/management/resource-name-rules) and, for Container Apps, the az CLI's
 * message "A name must consist of lower case alphanumeric characters or '-', start with a letter,
 * end with an alphanumeric character, cannot have '--', and must be less than 32 characters."
 * A Container App secret's name: lower-case letters, digits and '-', starting and ending with a
 * letter or digit (Container Apps keeps secrets as Kubernetes secrets, whose keys follow RFC 1123).
 */

export interface NamingRule {
  /** What Azure calls it, for messages. */
  kind: string;
  min: number;
  max: number;
  pattern: RegExp;
  /** The rule in words, quoted in the refusal. */
  rule: string;
}

export const NAMING_RULES = {
  resourceGroup: { kind: "resource group", min: 1, max: 90, pattern: /^[-\w.()]*[-\w()]$/, rule: "1-90 letters, digits, '_', '-', '.', '(' or ')', not ending with '.'" },
  logAnalyticsWorkspace: { kind: "Log Analytics workspace", min: 4, max: 63, pattern: /^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$/, rule: "4-63 letters, digits or '-', starting and ending with a letter or digit" },
  managedEnvironment: { kind: "Container Apps environment", min: 2, max: 60, pattern: /^[a-z][a-z0-9-]*[a-z0-9]$/, rule: "2-60 lower-case letters, digits or '-', starting with a letter and ending with a letter or digit" },
  containerApp: { kind: "Container App", min: 2, max: 32, pattern: /^(?!.*--)[a-z][a-z0-9-]*[a-z0-9]$/, rule: "2-32 lower-case letters, digits or '-', starting with a letter, ending with a letter or digit, no '--'" },
  containerRegistry: { kind: "container registry", min: 5, max: 50, pattern: /^[A-Za-z0-9]+$/, rule: "5-50 letters and digits only (global)" },
  userAssignedIdentity: { kind: "managed identity", min: 3, max: 128, pattern: /^[A-Za-z0-9][A-Za-z0-9_-]*$/, rule: "3-128 letters, digits, '-' or '_', starting with a letter or digit" },
  postgresServer: { kind: "PostgreSQL flexible server", min: 3, max: 63, pattern: /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, rule: "3-63 lower-case letters, digits or '-', not starting or ending with '-' (global)" },
  virtualNetwork: { kind: "virtual network", min: 2, max: 64, pattern: /^[A-Za-z0-9][\w.-]*\w$/, rule: "2-64 letters, digits, '_', '.' or '-', starting with a letter or digit and ending with a letter, digit or '_'" },
  privateDnsZoneLabel: { kind: "private DNS zone label", min: 1, max: 63, pattern: /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, rule: "1-63 lower-case letters, digits or '-' per DNS label, not starting or ending with '-'" },
  applicationInsights: { kind: "Application Insights component", min: 1, max: 260, pattern: /^[^%&\\?/]*[^%&\\?/. ]$/, rule: "1-260 characters without %, &, \\, ? or /, not ending with '.' or a space" },
  containerAppSecret: { kind: "Container App secret", min: 1, max: 253, pattern: /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, rule: "1-253 lower-case letters, digits or '-', starting and ending with a letter or digit" },
  actionGroup: { kind: "action group", min: 1, max: 260, pattern: /^[^%&\\?/]*[^%&\\?/. ]$/, rule: "1-260 characters without %, &, \\, ? or /, not ending with '.' or a space" },
} as const satisfies Record<string, NamingRule>;

export type NamedKind = keyof typeof NAMING_RULES;

/** What azure-native appends to a logical name: 8 hexadecimal characters. Worst case for length and charset. */
export const AUTO_NAME_SUFFIX_LENGTH = 8;
const WORST_SUFFIX = "f".repeat(AUTO_NAME_SUFFIX_LENGTH);

/** The names one stack uses: logical names (auto-named: + 8 hex) and the few names set explicitly. */
export interface StackNames {
  /** Logical name of most resources: `{namePrefix}-{stack}`. */
  base: string;
  /** Logical name of the registry (letters and digits only). */
  registry: string;
  /** Explicit Container App name: its host name must be known before the app exists (console redirect URI). */
  containerApp: string;
  /** Explicit private DNS zone of the flexible server. */
  privateDnsZone: string;
  /** Explicit action group name: the receiver's HEARTBEAT_ACTION_GROUP_ID names the group before it exists. */
  actionGroup: string;
}

export function stackNames(namePrefix: string, stack: string): StackNames {
  const base = `${namePrefix}-${stack}`;
  return {
    base,
    registry: `${base.replace(/[^A-Za-z0-9]/g, "")}acr`,
    containerApp: base,
    privateDnsZone: `${base}.private.postgres.database.azure.com`,
    actionGroup: base,
  };
}

/** Every Azure name the stack will use, worst case: the auto-named ones with the longest suffix. */
export function worstCaseNames(names: StackNames): Array<{ kind: NamedKind; name: string }> {
  const auto = (logical: string) => `${logical}${WORST_SUFFIX}`;
  return [
    { kind: "resourceGroup", name: auto(names.base) },
    { kind: "logAnalyticsWorkspace", name: auto(names.base) },
    { kind: "managedEnvironment", name: auto(names.base) },
    { kind: "containerApp", name: names.containerApp },
    { kind: "containerRegistry", name: auto(names.registry) },
    { kind: "userAssignedIdentity", name: auto(names.base) },
    { kind: "postgresServer", name: auto(names.base) },
    { kind: "virtualNetwork", name: auto(names.base) },
    { kind: "privateDnsZoneLabel", name: names.privateDnsZone.split(".")[0]! },
    { kind: "actionGroup", name: names.actionGroup },
    { kind: "applicationInsights", name: auto(names.base) },
  ];
}

export function ruleProblem(kind: NamedKind, name: string): string | undefined {
  const rule: NamingRule = NAMING_RULES[kind];
  if (name.length >= rule.min && name.length <= rule.max && rule.pattern.test(name)) return undefined;
  return `the ${rule.kind} name "${name}" (${name.length} characters) breaks Azure's rule: ${rule.rule}`;
}

/** Why this stack name cannot be deployed with this prefix; empty when it can. */
export function stackNameProblems(namePrefix: string, stack: string): string[] {
  return worstCaseNames(stackNames(namePrefix, stack)).flatMap(({ kind, name }) => ruleProblem(kind, name) ?? []);
}
