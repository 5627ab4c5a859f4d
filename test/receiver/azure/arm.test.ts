/** The ARM client's own contract, against a loopback server: the request ARM expects, and each kind of answer. */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArmError, armClient } from "../../../receiver/src/azure/arm.ts";

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;
let handler: Handler = (_q, _b, r) => r.end();
const seen: Array<{ method: string; url: string; authorization: string | undefined; body: string }> = [];
const server = createServer((request, response) => {
  let body = "";
  request.on("data", (c) => (body += c));
  request.on("end", () => {
    seen.push({ method: request.method!, url: request.url!, authorization: request.headers.authorization, body });
    handler(request, body, response);
  });
});
let endpoint: string;
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const client = () => armClient({ endpoint, token: async () => "t0ken" });

describe("armClient", () => {
  it("sends the path, api-version, query and JSON body with the identity's token, and returns the JSON answer", async () => {
    handler = (_q, _b, r) => r.writeHead(200, { "content-type": "application/json" }).end('{"properties":{"essentials":{"alertState":"Closed"}}}');
    const answer = await client().request({ method: "POST", path: "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/a/changestate", apiVersion: "2019-03-01", query: { newState: "Closed" }, body: { comments: "x" } });
    expect(answer.body).toEqual({ properties: { essentials: { alertState: "Closed" } } });
    expect(seen.at(-1)).toEqual({ method: "POST", url: "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/a/changestate?api-version=2019-03-01&newState=Closed", authorization: "Bearer t0ken", body: '{"comments":"x"}' });
  });

  it("says ARM's error code and message, whether a retry can help, and when", async () => {
    handler = (_q, _b, r) => r.writeHead(429, { "retry-after": "17", "content-type": "application/json" }).end('{"error":{"code":"TooManyRequests","message":"slow down"}}');
    const throttled = await client().request({ method: "GET", path: "/x" }).catch((e: unknown) => e);
    expect(throttled).toMatchObject({ status: 429, armCode: "TooManyRequests", retryable: true, retryAfterMs: 17_000, message: "GET /x answered 429 TooManyRequests: slow down" });
    handler = (_q, _b, r) => r.writeHead(403, { "content-type": "application/json" }).end('{"error":{"code":"AuthorizationFailed","message":"does not have authorization to perform action"}}');
    const denied = await client().request({ method: "GET", path: "/x" }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ArmError);
    expect(denied).toMatchObject({ status: 403, armCode: "AuthorizationFailed", retryable: false });
  });

  it("never sends its token to another host, whatever a Location header says", async () => {
    const before = seen.length;
    await expect(client().request({ method: "GET", path: "https://attacker.example/steal" })).rejects.toMatchObject({ retryable: false });
    expect(seen.length).toBe(before);
  });

  it("stops reading an answer past its size cap", async () => {
    handler = (_q, _b, r) => {
      r.writeHead(200, { "content-type": "application/json" });
      r.end(Buffer.alloc(5 * 1024 * 1024, 0x20));
    };
    await expect(client().request({ method: "GET", path: "/big" })).rejects.toThrow(/more than 4194304 bytes/);
  });
});
