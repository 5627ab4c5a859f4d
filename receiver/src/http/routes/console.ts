/**
 * The web console: static files from receiver/console/ at /console/, the OpenID Connect client
 * library it imports (oauth4webapi, shipped as an ES module so users never run a build), and
 * /console/config.json, which tells the console and the CLI where to sign in and for which API.
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";
import type { AuthConfig } from "../../auth/auth-config.ts";

const CONSOLE_DIR = fileURLToPath(new URL("../../../console/", import.meta.url));
const OAUTH_DIR = dirname(fileURLToPath(import.meta.resolve("oauth4webapi")));

/** What a client needs to get a token for this receiver: nothing secret, like Entra's own metadata. */
export interface ConsoleConfig {
  authority: string;
  tenantId: string;
  /** OpenID Connect issuer; its metadata is at `{issuer}/.well-known/openid-configuration`. */
  issuer: string;
  /** The application the console signs in as; null when ENTRA_CLIENT_ID is unset. */
  clientId: string | null;
  /** The App ID URI tokens are requested for (`{appIdUri}/.default` for tools). */
  appIdUri: string | null;
  /** The delegated scope a user token for the read and operator API carries. */
  scope: string | null;
  roles: { reader: string; operator: string };
}

export function consoleConfig(auth: AuthConfig): ConsoleConfig {
  // ENTRA_AUDIENCES holds the App ID URI (v1 tokens' audience) beside the bare client id (v2's);
  // the URI is the one Entra accepts as a scope prefix.
  const appIdUri = auth.audiences.find((audience) => audience.includes("://"))?.replace(/\/+$/, "") ?? (auth.clientId ? `api://${auth.clientId}` : null);
  return {
    authority: auth.authority,
    tenantId: auth.tenantId,
    issuer: `${auth.authority}/${auth.tenantId}/v2.0`,
    clientId: auth.clientId ?? null,
    appIdUri,
    scope: appIdUri ? `${appIdUri}/user_impersonation` : null,
    roles: { reader: auth.readerRole, operator: auth.operatorRole },
  };
}

export const consoleRoutes: FastifyPluginAsync<{ published: ConsoleConfig }> = async (app, { published }) => {
  // The console talks to this receiver and to the token endpoint of its authority, nothing else.
  const csp = [
    "default-src 'self'",
    `connect-src 'self' ${new URL(published.authority).origin}`,
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");

  await app.register(async (scope) => {
    scope.addHook("onSend", async (_request, reply) => {
      reply.header("content-security-policy", csp);
      reply.header("x-content-type-options", "nosniff");
      reply.header("referrer-policy", "no-referrer");
      // Revalidate every time: a receiver upgrade must not leave browsers on an older console.
      if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-cache");
    });
    scope.get("/console", { schema: { hide: true } }, async (_request, reply) => reply.redirect("/console/", 301));
    scope.get("/console/config.json", { schema: { hide: true } }, async (_request, reply) => reply.header("cache-control", "no-store").send(published));
    await scope.register(fastifyStatic, { root: OAUTH_DIR, prefix: "/console/vendor/oauth4webapi/", allowedPath: (path) => path === "/index.js", cacheControl: false, decorateReply: false });
    await scope.register(fastifyStatic, { root: CONSOLE_DIR, prefix: "/console/", index: "index.html", cacheControl: false, decorateReply: false });
  });
};
