/**
 * With PostgreSQL, a request's work starts only after the I/O that was ready with it
 * (HttpSettings.yieldToIo): the database's answers to the intake batch in flight go before the
 * checks, parsing and preparation of requests that arrived in the same turn of the event loop.
 * Real sockets on loopback: a request and a stand-in database connection both ready in one turn,
 * the request's bytes written first.
 */
import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { fixture } from "../../support/fixtures.ts";
import { stubIntake, testApp } from "../../support/app.ts";

const closing: Array<() => unknown> = [];
afterEach(async () => {
  // Sockets first, then the server they were accepted by.
  for (const close of closing.splice(0).reverse()) await close();
});

async function connected(port: number): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  closing.push(() => socket.destroy());
  return socket;
}

/** What ran first once both sockets were ready: the request's handler or the database socket's callback. */
async function orderWith(yieldToIo: boolean): Promise<string[]> {
  const seen: string[] = [];
  const app = await testApp({
    http: { bodyLimitBytes: 65_536, requestTimeoutMs: 30_000, trustedProxyHops: 0, yieldToIo },
    intake: stubIntake(() => {
      seen.push("request");
      return { admitted: true, notificationId: "1", duplicate: false, incidentId: "00000000-0000-4000-8000-000000000001", family: "metric", events: [] };
    }),
  });
  await app.listen({ port: 0, host: "127.0.0.1" });

  const database = createServer();
  closing.push(() => new Promise((resolve) => database.close(resolve)));
  database.listen(0, "127.0.0.1");
  await once(database, "listening");
  const accepted = once(database, "connection");
  const toDatabase = await connected((database.address() as AddressInfo).port);
  const [fromDatabase] = (await accepted) as [Socket];
  closing.push(() => fromDatabase.destroy());
  fromDatabase.on("data", () => seen.push("database"));

  // A connection in use, as Azure's keep-alive connections are: one answered request first (a
  // connection the server has just accepted is read only from a later turn on).
  const client = await connected((app.server.address() as AddressInfo).port);
  const answer = () =>
    new Promise<string>((resolve) => {
      let text = "";
      // The whole answer (headers and Content-Length bytes of body), so that none of it is taken for the next one's.
      const onData = (chunk: Buffer) => {
        text += chunk.toString("latin1");
        const end = text.indexOf("\r\n\r\n");
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
        if (end < 0 || text.length < end + 4 + length) return;
        client.off("data", onData);
        resolve(text.split("\r\n")[0]!);
      };
      client.on("data", onData);
    });
  const probed = answer();
  client.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  expect(await probed).toBe("HTTP/1.1 200 OK");
  const body = JSON.stringify(fixture("metric-static-fired.json"));
  const answered = answer();
  // Both written in this turn (loopback delivers at once), the request first; the loop is held
  // until both have surely arrived, so the next turn finds both sockets ready.
  client.write(`POST /api/alerts HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer webhook\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  toDatabase.write("answer");
  const until = performance.now() + 30;
  while (performance.now() < until);

  expect(await answered).toBe("HTTP/1.1 202 Accepted");
  return seen;
}

describe("a request's work and the I/O ready with it", () => {
  it("with yieldToIo (PostgreSQL), the database's answer is handled before the request that arrived with it", async () => {
    expect(await orderWith(true)).toEqual(["database", "request"]);
  });

  it("without it (the embedded store), the request that arrived first is handled first", async () => {
    expect(await orderWith(false)).toEqual(["request", "database"]);
  });
});
