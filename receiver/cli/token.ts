/**
 * A token for the receiver's read and operator API. Locally, from the local issuer as the local
 * operator tool; in Azure, from the Azure CLI login or a device-code sign-in through
 * @azure/identity, for the App ID URI the receiver publishes in /console/config.json.
 */
import { LOCAL_OPERATOR_CLIENT_ID } from "../local/local-identity.ts";
import type { ConsoleConfig } from "../src/http/routes/console.ts";
import { CliError } from "./errors.ts";

export type AuthMode = "auto" | "local" | "azure-cli" | "device-code";
export const AUTH_MODES: readonly AuthMode[] = ["auto", "local", "azure-cli", "device-code"];

export interface TokenSource {
  mode: AuthMode;
  /** The local issuer, when it is not the authority the receiver names (--issuer / ISSUER_URL). */
  issuerUrl: string | undefined;
  /** A token given by the caller (SECURE_EXPORT_TOKEN), used as it is. */
  token: string | undefined;
}

export interface Token {
  token: string;
  /** How it was obtained, for error messages: "local", "azure-cli", "device-code" or "given". */
  via: "local" | "azure-cli" | "device-code" | "given";
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || host.startsWith("127.");
}

/** The local issuer is plain http on loopback; Entra never is. */
export function resolveMode(source: TokenSource, config: ConsoleConfig): Exclude<AuthMode, "auto"> | "azure" {
  if (source.mode !== "auto") return source.mode;
  return source.issuerUrl || isLoopback(config.authority) ? "local" : "azure";
}

async function localToken(issuerUrl: string, config: ConsoleConfig, resource: string): Promise<Token> {
  const response = await fetch(`${issuerUrl}/${config.tenantId}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: LOCAL_OPERATOR_CLIENT_ID, scope: `${resource}/.default` }),
  }).catch((error: Error) => {
    throw new CliError(`the local token issuer at ${issuerUrl} is not reachable (${error.cause instanceof Error ? error.cause.message : error.message}); is \`npm start\` running, or pass --issuer URL`);
  });
  if (!response.ok) throw new CliError(`the local token issuer at ${issuerUrl} answered ${response.status}: ${await response.text()}`);
  return { token: ((await response.json()) as { access_token: string }).access_token, via: "local" };
}

async function azureToken(mode: "azure" | "azure-cli" | "device-code", config: ConsoleConfig, resource: string): Promise<Token> {
  // Loaded only for Azure: the local stack needs none of it.
  const { AzureCliCredential, DeviceCodeCredential, CredentialUnavailableError } = await import("@azure/identity");
  const scope = `${resource}/.default`;
  const signInHint = `sign in with \`az login --tenant ${config.tenantId}\`, or run with --auth device-code`;
  if (mode !== "device-code") {
    try {
      const token = await new AzureCliCredential({ tenantId: config.tenantId }).getToken(scope);
      return { token: token.token, via: "azure-cli" };
    } catch (error) {
      const unavailable = error instanceof CredentialUnavailableError;
      // Without a terminal nobody can complete a device-code sign-in: say what to do instead.
      if (mode === "azure-cli" || !unavailable || !process.stdin.isTTY) {
        throw new CliError(`no token from the Azure CLI for ${resource}: ${(error as Error).message.split("\n")[0]}\n${signInHint}`);
      }
      process.stderr.write(`No Azure CLI login (${(error as Error).message.split("\n")[0]}); signing in with a device code instead.\n`);
    }
  }
  try {
    const credential = new DeviceCodeCredential({
      tenantId: config.tenantId,
      authorityHost: config.authority,
      userPromptCallback: (info) => void process.stderr.write(`${info.message}\n`),
    });
    const token = await credential.getToken(scope);
    return { token: token.token, via: "device-code" };
  } catch (error) {
    throw new CliError(`device-code sign-in for ${resource} failed: ${(error as Error).message.split("\n")[0]}`);
  }
}

export async function acquireToken(source: TokenSource, config: ConsoleConfig): Promise<Token> {
  if (source.token) return { token: source.token, via: "given" };
  const resource = config.appIdUri;
  if (!resource) throw new CliError("the receiver publishes no App ID URI (ENTRA_AUDIENCES has no URI and ENTRA_CLIENT_ID is unset), so there is no scope to ask a token for; set SECURE_EXPORT_TOKEN to a token for its API");
  const mode = resolveMode(source, config);
  if (mode === "local") return localToken(source.issuerUrl ?? config.authority, config, resource);
  return azureToken(mode, config, resource);
}
