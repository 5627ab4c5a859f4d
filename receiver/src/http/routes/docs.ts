/** Interactive API documentation at /docs, rendered by Swagger UI from the receiver's own OpenAPI document. */
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";

export async function docsRoutes(app: FastifyInstance): Promise<void> {
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    // "Authorize" keeps the bearer token across reloads, so trying the read API is one paste.
    uiConfig: { docExpansion: "list", deepLinking: true, persistAuthorization: true, tryItOutEnabled: true },
  });
}
