/**
 * Why a request failed, as Node's fetch reports it: "fetch failed" with the reason in `cause`
 * (undici's documented behaviour: https://undici.nodejs.org/#/docs/api/Errors). Real failures on
 * loopback where they can be made here; DNS failures only by their shape, since no lookup may leave
 * this machine.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { describeFetchFailure } from "../../receiver/src/network-errors.ts";

const TLS = new URL("../fixtures/tls/", import.meta.url);

async function failureOf(url: string, timeoutMs?: number): Promise<unknown> {
  return fetch(url, timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }).then(
    () => {
      throw new Error("expected the request to fail");
    },
    (error: unknown) => error,
  );
}

async function listening<T extends ReturnType<typeof createHttpServer> | ReturnType<typeof createHttpsServer>>(server: T): Promise<{ port: number; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("describeFetchFailure", () => {
  it("names a refused connection", async () => {
    const server = await listening(createHttpServer());
    await server.close();
    const error = await failureOf(`http://127.0.0.1:${server.port}/`);
    expect((error as Error).message).toBe("fetch failed");
    expect(describeFetchFailure(error)).toBe(`connect ECONNREFUSED 127.0.0.1:${server.port}`);
  });

  it("names a certificate nobody trusts", async () => {
    const server = await listening(createHttpsServer({ key: readFileSync(new URL("self-signed.key", TLS)), cert: readFileSync(new URL("self-signed.crt", TLS)) }, (_q, r) => r.end()));
    try {
      expect(describeFetchFailure(await failureOf(`https://127.0.0.1:${server.port}/`))).toMatch(/^self-signed certificate.* \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/);
    } finally {
      await server.close();
    }
  });

  it("names https spoken to a plain-http port", async () => {
    const server = await listening(createHttpServer((_q, r) => r.end()));
    try {
      expect(describeFetchFailure(await failureOf(`https://127.0.0.1:${server.port}/`))).toMatch(/wrong version number.* \(ERR_SSL_WRONG_VERSION_NUMBER\)$/);
    } finally {
      await server.close();
    }
  });

  it("names a timeout", async () => {
    const server = await listening(createHttpServer(() => {}));
    try {
      expect(describeFetchFailure(await failureOf(`http://127.0.0.1:${server.port}/`, 200), 200)).toBe("timed out after 200 ms");
    } finally {
      await server.close();
    }
  });

  it("names an unknown host, from the shape undici gives it", () => {
    const lookup = Object.assign(new Error("getaddrinfo ENOTFOUND itsm.example.invalid"), { code: "ENOTFOUND", hostname: "itsm.example.invalid" });
    expect(describeFetchFailure(new TypeError("fetch failed", { cause: lookup }))).toBe("getaddrinfo ENOTFOUND itsm.example.invalid");
  });

  it("names every address refused, from happy eyeballs' AggregateError", () => {
    const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: "ECONNREFUSED" });
    const all = Object.assign(new AggregateError([refused("::1:443"), refused("127.0.0.1:443")], ""), { code: "ECONNREFUSED" });
    expect(describeFetchFailure(new TypeError("fetch failed", { cause: all }))).toBe("connect ECONNREFUSED ::1:443");
  });
});
