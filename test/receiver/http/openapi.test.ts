/**
 * The OpenAPI document (GET /openapi.json, shown at /docs) is true: every route lists every status it
 * answers, each error with the one error shape, and the webhook's 202 in both forms.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../receiver/src/store/database.ts";
import { migrate } from "../../../receiver/src/store/migrate.ts";
import { openPglite } from "../../../receiver/src/store/pglite-database.ts";
import { startTestStack, type TestStack } from "../../support/stack.ts";

let db: Database;
let stack: TestStack;
let doc: any;

beforeAll(async () => {
  db = await openPglite(undefined);
  await migrate(db);
  stack = await startTestStack({ db });
  doc = await (await fetch(`${stack.receiver.url}/openapi.json`)).json();
});
afterAll(async () => {
  await stack?.close();
  await db?.close();
});

const statuses = (path: string, method: string) => Object.keys(doc.paths[path][method].responses).map(Number).sort((a, b) => a - b);

describe("the OpenAPI document", () => {
  it("lists every status of the webhook: 202 and each error Azure may meet", () => {
    expect(statuses("/api/alerts", "post")).toEqual([202, 400, 401, 403, 408, 413, 415, 422, 500, 503]);
    const accepted = doc.paths["/api/alerts"].post.responses["202"].content["application/json"].schema;
    expect(accepted.anyOf.map((s: any) => s.properties.status.const ?? s.properties.status.enum?.[0])).toEqual(["accepted", "not_admitted", "heartbeat"]);
    expect(doc.paths["/api/alerts"].post.responses["503"].description).toMatch(/store_unavailable.*signing_keys_unavailable|signing_keys_unavailable.*store_unavailable/);
  });

  it("lists 401, 403 and 500 on every route behind a token, with the error shape", () => {
    for (const [path, methods] of Object.entries<any>(doc.paths)) {
      for (const [method, operation] of Object.entries<any>(methods)) {
        if (!operation.security) continue;
        const listed = statuses(path, method);
        expect(listed, `${method} ${path}`).toEqual(expect.arrayContaining([401, 403, 500, 503]));
        for (const status of listed.filter((s) => s >= 400)) {
          const schema = operation.responses[String(status)].content["application/json"].schema;
          expect(Object.keys(schema.properties), `${method} ${path} ${status}`).toEqual(["error", "message"]);
        }
      }
    }
  });

  it("lists the errors each route has of its own", () => {
    expect(statuses("/api/incidents/{id}", "get")).toEqual(expect.arrayContaining([404]));
    expect(statuses("/api/incidents", "get")).toEqual(expect.arrayContaining([400]));
    expect(statuses("/api/deliveries/{id}/retry", "post")).toEqual(expect.arrayContaining([202, 404, 409]));
    expect(statuses("/api/routing/explain", "post")).toEqual(expect.arrayContaining([200, 422]));
  });
});
