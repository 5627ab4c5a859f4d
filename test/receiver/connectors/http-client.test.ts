/**
 * What a connector reads from an ITSM tool and keeps of its errors: answers are read up to a cap and
 * cut beyond it, and an error keeps the tool's status, code and message, never what it echoed of the
 * request (a tool or proxy that echoes the Authorization header must not hand out the credential
 * through lastError, which readers see, or the log).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { checkVerdict, failure, httpRequest, MAX_ANSWER_BYTES } from "../../../receiver/src/connectors/http-client.ts";
import { DeliveryError } from "../../../receiver/src/outbox/delivery.ts";

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(handler: (request: IncomingMessage, response: ServerResponse, body: string) => void): Promise<string> {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (d) => (body += d));
    request.on("end", () => handler(request, response, body));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe("an answer larger than a tool ever sends", () => {
  it("is cut after the cap, without the rest being sent or kept, as a delivery error saying so", async () => {
    let written = 0;
    let closed: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const url = await serve((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, "a");
      // 64 MiB, written as fast as the client takes it.
      const pump = () => {
        while (written < 64 * 1_048_576) {
          written += chunk.length;
          if (!response.write(chunk)) return void response.once("drain", pump);
        }
        response.end();
      };
      response.on("close", () => closed());
      pump();
    });
    const error = await httpRequest(`${url}/api/now/table/incident`, { method: "GET" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).message).toBe(`GET /api/now/table/incident answered 200 with a body over ${MAX_ANSWER_BYTES} bytes; stopped reading it (is the URL the tool's API?)`);
    await connectionClosed;
    // The cap plus what the sockets' buffers held when it was cut.
    expect(written).toBeLessThan(MAX_ANSWER_BYTES + 16 * 1_048_576);
  });

  it("is refused before reading when its Content-Length says so", async () => {
    let written = 0;
    const url = await serve((_request, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-length": String(200 * 1_048_576) });
      written += 1024;
      response.write(Buffer.alloc(1024, "a"));
    });
    const error = await httpRequest(`${url}/x`, { method: "GET" }).catch((e: unknown) => e);
    expect((error as DeliveryError).message).toMatch(/answered 200 with a body over 1048576 bytes/);
    expect(written).toBe(1024);
  });

  it("reads an answer within the cap whole", async () => {
    const url = await serve((_request, response) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ result: "x".repeat(500_000) })));
    const answer = await httpRequest(`${url}/x`, { method: "GET" });
    expect(JSON.parse(answer.text).result).toHaveLength(500_000);
  });
});

describe("an error answer that echoes the request", () => {
  const basic = `Basic ${Buffer.from("integration:S3cret-Passw0rd").toString("base64")}`;

  /** Answers `status` with whatever `body` makes of the request it got. */
  const echo = (status: number, type: string, body: (request: IncomingMessage, form: string) => string) =>
    serve((request, response, form) => response.writeHead(status, { "content-type": type }).end(body(request, form)));

  const secretsIn = (text: string) => ["S3cret-Passw0rd", Buffer.from("integration:S3cret-Passw0rd").toString("base64"), "oauth-Cl1ent-Secret", "eyJhbGciOiJSUzI1NiJ9.tok"].filter((s) => text.includes(s));

  it.each([
    [
      "ServiceNow's error envelope quoting the header",
      "application/json",
      (r: IncomingMessage) => JSON.stringify({ error: { message: "Operation Failed", detail: `Rejected request with authorization: ${r.headers.authorization}` }, status: "failure" }),
      "ServiceNow incident create answered 500: Operation Failed: Rejected request with authorization: [redacted]",
    ],
    [
      "BMC Helix's error array quoting the password",
      "application/json",
      () => JSON.stringify([{ messageType: "ERROR", messageText: "Authentication failed", messageAppendedText: "user integration / password S3cret-Passw0rd", messageNumber: 623 }]),
      "ServiceNow incident create answered 500: 623 Authentication failed: user integration / password [redacted]",
    ],
    [
      "a JSON body with the request's headers in it",
      "application/json",
      (r: IncomingMessage) => JSON.stringify({ message: "bad gateway", request: { headers: r.headers } }),
      "ServiceNow incident create answered 500: bad gateway",
    ],
    [
      "an HTML page dumping the headers",
      "text/html; charset=utf-8",
      (r: IncomingMessage) => `<html><body><pre>${JSON.stringify(r.headers)}</pre></body></html>`,
      expect.stringMatching(/^ServiceNow incident create answered 500: \(a text\/html of \d+ bytes, not shown\)$/),
    ],
    [
      "a one-line text answer with the header",
      "text/plain",
      (r: IncomingMessage) => `denied: ${r.headers.authorization}`,
      "ServiceNow incident create answered 500: denied: [redacted]",
    ],
  ])("%s keeps the tool's code and message, not the credential", async (_case, type, body, expected) => {
    const url = await echo(500, type, body);
    const response = await httpRequest(`${url}/api/now/table/incident`, { method: "POST", headers: { authorization: basic, "content-type": "application/json" }, body: "{}" });
    const message = failure("ServiceNow incident create", response).message;
    expect(message).toEqual(expected);
    expect(secretsIn(message)).toEqual([]);
    expect(secretsIn(checkVerdict("ServiceNow", response, "basic auth credentials").detail)).toEqual([]);
  });

  it("an OAuth token endpoint quoting the client secret from the form", async () => {
    const url = await echo(401, "application/json", (_r, form) => JSON.stringify({ error: "invalid_client", error_description: `no client with ${form}` }));
    const response = await httpRequest(`${url}/oauth_token.do`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: "abc", client_secret: "oauth-Cl1ent-Secret" }),
    });
    const message = failure("ServiceNow OAuth token endpoint", response).message;
    expect(message).toMatch(/^ServiceNow OAuth token endpoint answered 401: invalid_client no client with grant_type=client_credentials&client_id=abc&client_secret=\[redacted\]$/);
    expect(secretsIn(message)).toEqual([]);
  });

  it("a bearer token anywhere in the words is removed even when it is not the one sent", async () => {
    const url = await echo(503, "application/json", () => JSON.stringify({ message: "upstream said Bearer eyJhbGciOiJSUzI1NiJ9.tok.sig is expired" }));
    const response = await httpRequest(`${url}/x`, { method: "GET" });
    expect(failure("tool", response).message).toBe("tool answered 503: upstream said Bearer [redacted] is expired");
  });
});
