/**
 * Interactive API documentation at /docs, rendered by Swagger UI from the receiver's own OpenAPI
 * document, with a way to sign in: the OAuth 2.0 authorization-code flow with PKCE against the
 * authority the receiver trusts (Entra, or the local issuer), as the console's public client. The
 * token lives in the page's memory only, and the page may not be framed or load anything foreign.
 */
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import type { ConsoleConfig } from "./console.ts";

/** The name of the OAuth 2.0 scheme in the document /docs shows. */
export const SIGN_IN_SCHEME = "signIn";

type OpenApiDocument = {
  components?: { securitySchemes?: Record<string, unknown> };
  paths?: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>;
};

/**
 * The document /docs shows: /openapi.json plus an OAuth 2.0 scheme offered wherever a bearer token
 * is accepted, so "Authorize" can sign in instead of asking for a token pasted from elsewhere.
 * /openapi.json itself stays as the routes declare it (any client with a token).
 */
export function withSignIn(document: OpenApiDocument, published: ConsoleConfig): OpenApiDocument {
  const { authority, tenantId, scope, clientId } = published;
  if (!clientId || !scope) return document;
  const base = `${authority}/${tenantId}/oauth2/v2.0`;
  const scopes = { openid: "sign in", profile: "your name on the timeline", [scope]: "the read and operator API, with your roles" };
  document.components = {
    ...document.components,
    securitySchemes: {
      ...document.components?.securitySchemes,
      [SIGN_IN_SCHEME]: {
        type: "oauth2",
        description: `Sign in with ${authority} (authorization code with PKCE, as the web console does)`,
        flows: { authorizationCode: { authorizationUrl: `${base}/authorize`, tokenUrl: `${base}/token`, scopes } },
      },
    },
  };
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    // The webhook takes Azure Monitor's own token (an app role no person holds): nothing to sign in for.
    if (path === "/api/alerts") continue;
    for (const operation of Object.values(operations)) {
      if (operation.security?.some((requirement) => "bearer" in requirement)) operation.security.push({ [SIGN_IN_SCHEME]: Object.keys(scopes) });
    }
  }
  return document;
}

/** What /docs may load and talk to: itself, and the authority's token endpoint (the code exchange). */
export function docsContentSecurityPolicy(published: ConsoleConfig): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Swagger UI sets style attributes from its scripts.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self' ${new URL(published.authority).origin}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join("; ");
}

export async function docsRoutes(app: FastifyInstance, published: ConsoleConfig): Promise<void> {
  const csp = docsContentSecurityPolicy(published);
  const { clientId, scope } = published;
  await app.register(async (docs) => {
    docs.addHook("onSend", async (_request, reply) => {
      reply.header("content-security-policy", csp);
      reply.header("x-frame-options", "DENY");
      reply.header("x-content-type-options", "nosniff");
      reply.header("referrer-policy", "no-referrer");
    });
    await docs.register(swaggerUi, {
      routePrefix: "/docs",
      // persistAuthorization stays off: a token kept in localStorage outlives the visit and is
      // readable by any script on this origin. Signing in again is one click.
      uiConfig: { docExpansion: "list", deepLinking: true, persistAuthorization: false, tryItOutEnabled: true },
      initOAuth: clientId && scope ? { clientId, usePkceWithAuthorizationCodeGrant: true, scopes: ["openid", "profile", scope] } : {},
      transformSpecification: (document) => withSignIn(document as OpenApiDocument, published) as Record<string, unknown>,
    });
  });
}
