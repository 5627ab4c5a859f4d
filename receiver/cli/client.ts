/** The receiver's API as the CLI calls it: finds its sign-in settings, gets a token, and turns failures into advice. */
import type { ConsoleConfig } from "../src/http/routes/console.ts";
import { CliError } from "./errors.ts";
import { acquireToken, resolveMode, type Token, type TokenSource } from "./token.ts";

/** Which of the two roles a call needs, to name the right one when the receiver says 403. */
export type Need = "reader" | "operator";

interface ErrorBody {
  error?: string;
  message?: string;
}

function unreachable(receiverUrl: string, error: Error): CliError {
  const reason = error.cause instanceof Error ? error.cause.message : error.message;
  return new CliError(`no receiver at ${receiverUrl} (${reason}).\nStart the local stack with \`npm start\`, or point at yours with --receiver URL (or RECEIVER_URL).`);
}

export class ReceiverClient {
  readonly receiverUrl: string;
  private readonly source: TokenSource;
  private config: ConsoleConfig | undefined;
  private token: Token | undefined;

  constructor(receiverUrl: string, source: TokenSource) {
    this.receiverUrl = receiverUrl.replace(/\/+$/, "");
    this.source = source;
  }

  /** The receiver's public sign-in settings (the same the web console reads). */
  async publicConfig(): Promise<ConsoleConfig> {
    if (this.config) return this.config;
    const response = await fetch(`${this.receiverUrl}/console/config.json`, { headers: { accept: "application/json" } }).catch((error: Error) => {
      throw unreachable(this.receiverUrl, error);
    });
    if (!response.ok) {
      throw new CliError(`${this.receiverUrl}/console/config.json answered ${response.status}: is ${this.receiverUrl} a secure-export receiver of this version?`);
    }
    this.config = (await response.json()) as ConsoleConfig;
    return this.config;
  }

  async call<T>(method: "GET" | "POST" | "DELETE", path: string, need: Need, body?: unknown): Promise<T> {
    const config = await this.publicConfig();
    this.token ??= await acquireToken(this.source, config);
    const response = await fetch(`${this.receiverUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token.token}`,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    }).catch((error: Error) => {
      throw unreachable(this.receiverUrl, error);
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (response.ok) return json as T;
    throw this.explain(response.status, (json ?? {}) as ErrorBody, method, path, need, config);
  }

  /** What an error answer means for the person at the terminal, and what they can do about it. */
  private explain(status: number, body: ErrorBody, method: string, path: string, need: Need, config: ConsoleConfig): CliError {
    const said = body.message ?? body.error ?? "(no message)";
    if (status === 401) {
      const how = this.token?.via === "given"
        ? "SECURE_EXPORT_TOKEN holds a token this receiver does not accept; get a new one"
        : resolveMode(this.source, config) === "local"
          ? `is ${this.source.issuerUrl ?? config.authority} the token issuer this receiver trusts? (it trusts ${config.authority})`
          : `get a new token: az login --tenant ${config.tenantId}`;
      return new CliError(`the receiver refused the token (401: ${said}).\n${how}`);
    }
    if (status === 403) {
      const role = /lacks the (\S+) role/.exec(said)?.[1] ?? (need === "operator" ? config.roles.operator : config.roles.reader);
      if (!/lacks the \S+ role/.test(said)) return new CliError(`the receiver refused this call (403: ${said})`);
      const key = role === config.roles.operator ? "operators" : "readers";
      const scope = config.appIdUri ? `${config.appIdUri}/user_impersonation` : "<App ID URI>/user_impersonation";
      return new CliError(
        [
          `you lack the role ${role}, which ${method} ${path.split("?")[0]} needs.`,
          `Ask an owner of the stack to add your object id to the stack's \`secure-export:${key}\` list and run \`pulumi up\`.`,
          `Your object id: az ad signed-in-user show --query id -o tsv`,
          `Then get a fresh token, which carries the role: az account get-access-token --scope ${scope}`,
        ].join("\n"),
      );
    }
    if (status === 404) return new CliError(said);
    if (status === 503 || status === 502 || status === 504) return new CliError(`the receiver is unavailable (${status}: ${said}); retry in a moment`);
    return new CliError(`${method} ${path.split("?")[0]} answered ${status}: ${said}`);
  }
}
