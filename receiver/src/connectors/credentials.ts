/**
 * How a connector signs in to its tool, through both doors. The environment holds the secrets
 * themselves (`<PREFIX>PASSWORD`, or `<PREFIX>PASSWORD_FILE` naming a mounted file); the rules never
 * do: `auth` names an environment variable (`passwordEnv`) or a file (`passwordFile`) that holds it,
 * read through the SecretReader given.
 */
import { readFileSync } from "node:fs";
import Type from "typebox";
import { ConfigError, optional, text, type Env } from "../env.ts";

export type Credentials = { type: "basic"; username: string; password: string } | { type: "oauth"; clientId: string; clientSecret: string };

/** Which sign-ins a tool takes: every tool takes a user and password; some take OAuth client credentials too. */
export interface CredentialOptions {
  oauth: boolean;
  /** Why a tool without OAuth refuses client credentials, for the message. */
  basicOnlyReason?: string;
  /** The settings reference's lines for the user sign-in and, with `oauth`, the client credentials. */
  basicDoc: string;
  oauthDoc?: string;
}

export type SecretRef = { env: string } | { file: string };
/** Returns the secret, or throws an Error whose message says why it cannot be had. */
export type SecretReader = (ref: SecretRef) => string;

/** Reads `passwordEnv` from the environment given and `passwordFile` from disk. */
export function secretReader(env: Env): SecretReader {
  return (ref) => ("env" in ref ? (env[ref.env] ?? "") : readFileSync(ref.file, "utf8"));
}

/** A problem in the rules form, below the connector: the routing rules place and word it. */
export interface SettingProblem {
  code: "invalid_value" | "missing_key" | "inline_secret" | "secret_unavailable";
  at: readonly string[];
  message: string;
}

/** `auth` in the rules, as JSON Schema. The inline secrets are accepted by the shape only to be refused with a message that says what to do instead. */
export const AuthSchema = Type.Object(
  {
    username: Type.Optional(Type.String({ minLength: 1 })),
    passwordEnv: Type.Optional(Type.String({ minLength: 1 })),
    passwordFile: Type.Optional(Type.String({ minLength: 1 })),
    clientId: Type.Optional(Type.String({ minLength: 1 })),
    clientSecretEnv: Type.Optional(Type.String({ minLength: 1 })),
    clientSecretFile: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.Unknown()),
    clientSecret: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export interface AuthSpec {
  username?: string;
  passwordEnv?: string;
  passwordFile?: string;
  clientId?: string;
  clientSecretEnv?: string;
  clientSecretFile?: string;
  password?: unknown;
  clientSecret?: unknown;
}

/** The variables a tool's sign-in reads, after its prefix. */
export function credentialVariables(options: CredentialOptions): string[] {
  return ["USERNAME", "PASSWORD", ...(options.oauth ? ["CLIENT_ID", "CLIENT_SECRET"] : [])];
}

/** The environment door: `<PREFIX>CLIENT_ID` chooses OAuth where the tool takes it, else a user. Throws ConfigError. */
export function credentialsFromEnv(env: Env, prefix: string, options: CredentialOptions): Credentials {
  const url = `${prefix}URL`;
  const clientId = options.oauth ? optional(env, `${prefix}CLIENT_ID`) : undefined;
  if (clientId) {
    const clientSecret = optional(env, `${prefix}CLIENT_SECRET`);
    if (!clientSecret) throw new ConfigError(`${prefix}CLIENT_SECRET`, `is required with ${prefix}CLIENT_ID (or set ${prefix}CLIENT_SECRET_FILE)`);
    return { type: "oauth", clientId, clientSecret };
  }
  if (!options.oauth) {
    const password = optional(env, `${prefix}PASSWORD`);
    if (!password) throw new ConfigError(`${prefix}PASSWORD`, `is required when ${url} is set (or set ${prefix}PASSWORD_FILE)`);
    return { type: "basic", username: text(env, `${prefix}USERNAME`), password };
  }
  const username = optional(env, `${prefix}USERNAME`);
  if (!username) throw new ConfigError(`${prefix}USERNAME`, `or ${prefix}CLIENT_ID is required when ${url} is set`);
  const password = optional(env, `${prefix}PASSWORD`);
  if (!password) throw new ConfigError(`${prefix}PASSWORD`, `is required with ${prefix}USERNAME (or set ${prefix}PASSWORD_FILE)`);
  return { type: "basic", username, password };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function secretRef(auth: AuthSpec, stem: "password" | "clientSecret", problems: SettingProblem[]): SecretRef | null {
  const envKey = `${stem}Env` as const;
  const fileKey = `${stem}File` as const;
  const envName = auth[envKey];
  const file = auth[fileKey];
  if (envName !== undefined && file !== undefined) {
    problems.push({ code: "invalid_value", at: ["auth", fileKey], message: `and ${envKey} are both set: name the secret once` });
    return null;
  }
  if (envName !== undefined) {
    if (!ENV_NAME.test(envName)) {
      problems.push({ code: "invalid_value", at: ["auth", envKey], message: `must be the name of an environment variable, got ${JSON.stringify(envName)}` });
      return null;
    }
    return { env: envName };
  }
  if (file !== undefined) {
    if (!file.startsWith("/")) {
      problems.push({ code: "invalid_value", at: ["auth", fileKey], message: `must be an absolute path (a mounted secret), got ${JSON.stringify(file)}` });
      return null;
    }
    return { file };
  }
  // An inline secret is reported on its own (inline_secret); saying "missing" as well adds nothing.
  if (auth[stem] === undefined) {
    problems.push({ code: "missing_key", at: ["auth"], message: `needs ${envKey} (an environment variable's name) or ${fileKey} (a file's path) for the ${stem === "password" ? "password" : "client secret"}` });
  }
  return null;
}

function readSecret(ref: SecretRef | null, read: SecretReader, problems: SettingProblem[]): string | null {
  if (!ref) return null;
  const named = "env" in ref ? ref.env : ref.file;
  try {
    const value = read(ref).trim();
    if (value) return value;
    problems.push({ code: "secret_unavailable", at: ["auth"], message: "env" in ref ? `names ${named}, which is not set or empty` : `names ${named}, which is empty` });
  } catch (error) {
    problems.push({ code: "secret_unavailable", at: ["auth"], message: `names ${named}, which cannot be read: ${(error as Error).message}` });
  }
  return null;
}

/**
 * The rules door. Null when the credentials cannot be had; every reason is a problem, so the other
 * settings are still checked in the same run.
 */
export function credentialsFromRules(auth: AuthSpec, options: CredentialOptions, read: SecretReader, problems: SettingProblem[]): Credentials | null {
  const before = problems.length;
  for (const inline of ["password", "clientSecret"] as const) {
    if (auth[inline] !== undefined) {
      problems.push({ code: "inline_secret", at: ["auth", inline], message: `is not accepted: secrets never go in the rules; use ${inline}Env (an environment variable's name) or ${inline}File (a mounted file's path)` });
    }
  }
  const oauth = auth.clientId !== undefined || auth.clientSecretEnv !== undefined || auth.clientSecretFile !== undefined;
  const basic = auth.username !== undefined || auth.passwordEnv !== undefined || auth.passwordFile !== undefined;
  let result: Credentials | null = null;
  if (!options.oauth) {
    if (oauth) problems.push({ code: "invalid_value", at: ["auth"], message: `takes username with passwordEnv or passwordFile: ${options.basicOnlyReason ?? "this tool does not take OAuth client credentials"}` });
    if (auth.username === undefined) problems.push({ code: "missing_key", at: ["auth", "username"], message: "is required" });
    const password = readSecret(secretRef(auth, "password", problems), read, problems);
    if (auth.username !== undefined && password !== null) result = { type: "basic", username: auth.username, password };
  } else if (oauth && basic) {
    problems.push({ code: "invalid_value", at: ["auth"], message: "mixes basic (username, password…) and OAuth (clientId, clientSecret…) settings: choose one" });
  } else if (oauth) {
    if (auth.clientId === undefined) problems.push({ code: "missing_key", at: ["auth", "clientId"], message: "is required with clientSecretEnv or clientSecretFile" });
    const clientSecret = readSecret(secretRef(auth, "clientSecret", problems), read, problems);
    if (auth.clientId !== undefined && clientSecret !== null) result = { type: "oauth", clientId: auth.clientId, clientSecret };
  } else if (auth.username === undefined) {
    problems.push({ code: "missing_key", at: ["auth"], message: "needs username with passwordEnv or passwordFile (basic), or clientId with clientSecretEnv or clientSecretFile (OAuth)" });
  } else {
    const password = readSecret(secretRef(auth, "password", problems), read, problems);
    if (password !== null) result = { type: "basic", username: auth.username, password };
  }
  return problems.length > before ? null : result;
}

/** Where the rules name a secret, for checks made where only names are known (a Pulumi preview). */
export function secretReferences(auth: AuthSpec): Array<{ key: "passwordEnv" | "passwordFile" | "clientSecretEnv" | "clientSecretFile"; value: string }> {
  return (["passwordEnv", "passwordFile", "clientSecretEnv", "clientSecretFile"] as const).flatMap((key) => (typeof auth[key] === "string" ? [{ key, value: auth[key] }] : []));
}
