/**
 * With PostgreSQL, a request's work starts only after the I/O that was ready with it, one arrival
 * per turn of the event loop (HttpSettings.yieldToIo): the database's answers to the intake batch
 * in flight go before the checks, parsing and preparation of requests that arrived with them, and
 * an answer that comes while arrivals wait is read before the next of them. Real sockets on
 * loopback, on connections already in use (as Azure's keep-alive connections are).
 */
import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { fixture } from "../../support/fixtures.ts";
import { stubIntake, testApp } from "../../support/app.ts";

const closing: Array<() => unknown> = [];
afterEach(async () => {
  // Sockets first, then the servers they were accepted by.
  for (const close of closing.splice(0).reverse()) await close();
});

async function connected(port: number): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  closing.push(() => socket.destroy());
  return socket;
}

/** The status line of the next whole answer (headers and Content-Length bytes of body) on a connection. */
function answer(client: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
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
}

/**
 * An app whose intake records each submission, a stand-in database connection that records what it
 * is sent, and `clients` connections to the app, each with one request answered already (a
 * connection the server has just accepted is read only from a later turn on).
 */
async function scene(yieldToIo: boolean, clients: number, onSubmit: (n: number, toDatabase: Socket) => void = () => undefined) {
  const seen: string[] = [];
  let submitted = 0;
  const database = createServer();
  closing.push(() => new Promise((resolve) => database.close(resolve)));
  database.listen(0, "127.0.0.1");
  await once(database, "listening");
  const accepted = once(database, "connection");
  const toDatabase = await connected((database.address() as AddressInfo).port);
  const [fromDatabase] = (await accepted) as [Socket];
  closing.push(() => fromDatabase.destroy());
  fromDatabase.on("data", () => seen.push("database"));
  const app = await testApp({
    http: { bodyLimitBytes: 65_536, requestTimeoutMs: 30_000, trustedProxyHops: 0, yieldToIo },
    intake: stubIntake(() => {
      submitted += 1;
      seen.push(`request ${submitted}`);
      onSubmit(submitted, toDatabase);
      return { admitted: true, notificationId: "1", duplicate: false, incidentId: "00000000-0000-4000-8000-000000000001", family: "metric", events: [] };
    }),
  });
  await app.listen({ port: 0, host: "127.0.0.1" });

  const connections: Socket[] = [];
  for (let n = 0; n < clients; n++) {
    const client = await connected((app.server.address() as AddressInfo).port);
    const probed = answer(client);
    client.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    expect(await probed).toBe("HTTP/1.1 200 OK");
    connections.push(client);
  }
  const body = JSON.stringify(fixture("metric-static-fired.json"));
  const send = (client: Socket) => {
    const answered = answer(client);
    client.write(`POST /api/alerts HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer webhook\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return answered;
  };
  return { seen, toDatabase, connections, send };
}

/** Holds the event loop until what was written on loopback has surely arrived, so the next turn finds it all ready. */
function holdTheLoop(): void {
  const until = performance.now() + 30;
  while (performance.now() < until);
}

describe("a request's work and the I/O ready with it", () => {
  async function answerWithArrival(yieldToIo: boolean): Promise<string[]> {
    const { seen, toDatabase, connections, send } = await scene(yieldToIo, 1);
    // Both in this turn, the request's bytes first.
    const answered = send(connections[0]!);
    toDatabase.write("answer");
    holdTheLoop();
    expect(await answered).toBe("HTTP/1.1 202 Accepted");
    return seen;
  }

  it("with yieldToIo (PostgreSQL), the database's answer is handled before the request that arrived with it", async () => {
    expect(await answerWithArrival(true)).toEqual(["database", "request 1"]);
  });

  it("without it (the embedded store), the request that arrived first is handled first", async () => {
    expect(await answerWithArrival(false)).toEqual(["request 1", "database"]);
  });

  async function answerBetweenArrivals(yieldToIo: boolean): Promise<string[]> {
    // The database answers while the first of two waiting requests is being handled.
    const { seen, connections, send } = await scene(yieldToIo, 2, (n, toDatabase) => {
      if (n === 1) toDatabase.write("answer");
    });
    const answered = connections.map(send);
    holdTheLoop();
    expect(await Promise.all(answered)).toEqual(["HTTP/1.1 202 Accepted", "HTTP/1.1 202 Accepted"]);
    return seen;
  }

  it("with yieldToIo, an answer that comes while requests wait is read before the next of them", async () => {
    expect(await answerBetweenArrivals(true)).toEqual(["request 1", "database", "request 2"]);
  });

  it("without it, the requests that were waiting go first", async () => {
    expect(await answerBetweenArrivals(false)).toEqual(["request 1", "request 2", "database"]);
  });
});
