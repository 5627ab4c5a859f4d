/**
 * The key cache's policy (docs/configuration.md#how-tokens-are-checked), with a frozen clock and a keys
 * endpoint that counts its requests. Azure Monitor does not retry a 401 but does retry a 503
 * (https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups#webhook), so the question
 * each test asks is: 401 (jose's JWKSNoMatchingKey), 503 (SigningKeysUnavailableError) or a key.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { errors, exportJWK, generateKeyPair, SignJWT, type FlattenedJWSInput, type JWK, type JWTHeaderParameters } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { KeysFetchError, KID_WAIT_MS, SigningKeys, SigningKeysUnavailableError } from "../../../receiver/src/auth/signing-keys.ts";

const MIN_REFETCH = 5_000;
/** How long "this kid is not published" holds before the same kid is worth another fetch. */
const VERDICT_MS = 60_000;

interface KeysEndpoint {
  url: string;
  fetches: number;
  /** What the endpoint answers: the key set, an error status, or a body that is not a key set. */
  mode: "ok" | 503 | "not-json" | "no-keys";
  published: JWK[];
  publish(): Promise<{ kid: string; sign(claims: object): Promise<string> }>;
}

let endpoint: KeysEndpoint;
let server: Server;
let now: number;
const token: FlattenedJWSInput = { payload: "", signature: "", protected: "" };
const header = (kid: string): JWTHeaderParameters => ({ alg: "RS256", kid });

beforeAll(async () => {
  let counter = 0;
  server = createServer((_request, response) => {
    endpoint.fetches += 1;
    if (endpoint.mode === 503) return void response.writeHead(503, { "content-type": "application/json" }).end('{"error":"temporarily_unavailable"}');
    if (endpoint.mode === "not-json") return void response.writeHead(200, { "content-type": "text/html" }).end("<html>proxy login</html>");
    const keys = endpoint.mode === "no-keys" ? [] : endpoint.published;
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/tenant/discovery/v2.0/keys`,
    fetches: 0,
    mode: "ok",
    published: [],
    async publish() {
      const { publicKey, privateKey } = await generateKeyPair("RS256");
      counter += 1;
      const kid = `key-${counter}`;
      endpoint.published.push({ ...(await exportJWK(publicKey)), kid, use: "sig", alg: "RS256" });
      return { kid, sign: (claims: object) => new SignJWT({ ...claims }).setProtectedHeader({ alg: "RS256", kid }).sign(privateKey) };
    },
  };
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(async () => {
  now = 1_000_000;
  endpoint.mode = "ok";
  endpoint.published = [];
  await endpoint.publish();
});

/** What the requests waited, in all (the frozen clock moves by it). */
let waited: number[];
beforeEach(() => {
  waited = [];
});

function keyCache(options: { url?: string; failures?: KeysFetchError[]; minRefetch?: number } = {}): SigningKeys {
  return new SigningKeys({
    jwksUrl: options.url ?? endpoint.url,
    refreshIntervalMs: 86_400_000,
    minRefetchIntervalMs: options.minRefetch ?? MIN_REFETCH,
    timeoutMs: 1_000,
    now: () => now,
    onRefreshError: (error) => options.failures?.push(error),
    sleep: async (ms) => {
      waited.push(ms);
      now += ms;
    },
  });
}

/** 401 is jose's "no matching key"; 503 is ours. */
async function outcome(keys: SigningKeys, kid: string): Promise<"key" | 401 | 503> {
  try {
    await keys.getKey(header(kid), token);
    return "key";
  } catch (error) {
    if (error instanceof errors.JWKSNoMatchingKey) return 401;
    if (error instanceof SigningKeysUnavailableError) return 503;
    throw error;
  }
}

describe("a key Microsoft just published", () => {
  it("is used at once, even right after the start-up fetch", async () => {
    const keys = keyCache();
    await keys.refresh();
    const fetches = endpoint.fetches;
    const next = await endpoint.publish();
    expect(await outcome(keys, next.kid)).toBe("key");
    expect(endpoint.fetches).toBe(fetches + 1);
  });

  it("waits for the next allowed refetch when one just ran, and is used on the first try", async () => {
    const keys = keyCache();
    await keys.refresh();
    // Someone sends a made-up kid: that spends the on-demand fetch.
    expect(await outcome(keys, "made-up")).toBe(401);
    const fetches = endpoint.fetches;
    const next = await endpoint.publish();

    now += 1_000;
    expect(await outcome(keys, next.kid)).toBe("key");
    expect(waited).toEqual([MIN_REFETCH - 1_000]);
    expect(endpoint.fetches).toBe(fetches + 1);
  });

  it("gets 503 at once only when the next allowed refetch is further away than a request may wait", async () => {
    const keys = keyCache({ minRefetch: KID_WAIT_MS + 5_000 });
    await keys.refresh();
    expect(await outcome(keys, "made-up")).toBe(401);
    const next = await endpoint.publish();
    await expect(keys.getKey(header(next.kid), token)).rejects.toThrow(/refetched within 13 s/);
    expect(waited).toEqual([]);
    now += 5_000;
    expect(await outcome(keys, next.kid)).toBe("key");
  });

  it("gets 503 while the keys endpoint fails, naming why, and is used once it answers again", async () => {
    const keys = keyCache();
    await keys.refresh();
    const next = await endpoint.publish();
    endpoint.mode = 503;
    await expect(keys.getKey(header(next.kid), token)).rejects.toThrow(/refetching them failed: .* answered 503: \{"error":"temporarily_unavailable"\}/);
    endpoint.mode = "ok";
    now += MIN_REFETCH;
    expect(await outcome(keys, next.kid)).toBe("key");
  });

  it("shares one fetch among many concurrent requests", async () => {
    const keys = keyCache();
    await keys.refresh();
    const fetches = endpoint.fetches;
    const next = await endpoint.publish();
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => outcome(keys, next.kid)));
    expect(new Set(outcomes)).toEqual(new Set(["key"]));
    expect(endpoint.fetches).toBe(fetches + 1);
  });

  it("is picked up later even after a fetch said it was not published", async () => {
    const keys = keyCache();
    await keys.refresh();
    // Signed with a key the endpoint does not serve yet (a cache between us and Entra lags).
    const early = { kid: "key-published-late" };
    expect(await outcome(keys, early.kid)).toBe(401);
    now += VERDICT_MS - 1;
    expect(await outcome(keys, early.kid)).toBe(401);

    const { publicKey } = await generateKeyPair("RS256");
    endpoint.published.push({ ...(await exportJWK(publicKey)), kid: early.kid, use: "sig", alg: "RS256" });
    now += 1;
    expect(await outcome(keys, early.kid)).toBe("key");
  });
});

describe("unknown kids", () => {
  it("are refused as bad tokens once a fetch made after they were seen lacks them", async () => {
    const keys = keyCache();
    await keys.refresh();
    const fetches = endpoint.fetches;
    expect(await outcome(keys, "never-published")).toBe(401);
    expect(endpoint.fetches).toBe(fetches + 1);
    // The verdict is remembered: the same kid again costs no fetch.
    for (let i = 0; i < 20; i += 1) expect(await outcome(keys, "never-published")).toBe(401);
    expect(endpoint.fetches).toBe(fetches + 1);
  });

  it("arriving together right after a fetch are decided by one more fetch: 401 each, never 503", async () => {
    const keys = keyCache();
    await keys.refresh();
    expect(await outcome(keys, "first-made-up")).toBe(401);
    const fetches = endpoint.fetches;
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => outcome(keys, `random-${i}`)));
    expect(new Set(answers)).toEqual(new Set([401]));
    expect(endpoint.fetches).toBe(fetches + 1);
  });

  it("in a flood cause at most one fetch per interval", async () => {
    const keys = keyCache();
    await keys.refresh();
    const fetches = endpoint.fetches;
    const rounds = 10;
    const answers: Array<"key" | 401 | 503> = [];
    const start = now;
    for (let round = 0; round < rounds; round += 1) {
      answers.push(...(await Promise.all(Array.from({ length: 300 }, (_, i) => outcome(keys, `flood-${round}-${i}`)))));
    }
    expect(answers).not.toContain("key");
    expect(endpoint.fetches - fetches).toBeLessThanOrEqual(1 + (now - start) / MIN_REFETCH);
    // A kid already decided is not worth another fetch.
    const before = endpoint.fetches;
    expect(await outcome(keys, `flood-${rounds - 1}-1`)).toBe(401);
    expect(endpoint.fetches).toBe(before);
  });

  it("are remembered in bounded memory: forgetting one costs only a rate-limited fetch", async () => {
    const keys = keyCache();
    await keys.refresh();
    expect(await outcome(keys, "first")).toBe(401);
    // Far more distinct kids than the cache remembers, arriving together: one fetch decides them all.
    const fetches = endpoint.fetches;
    const answers = await Promise.all(Array.from({ length: 3000 }, (_, i) => outcome(keys, `spray-${i}`)));
    expect(new Set(answers)).toEqual(new Set([401]));
    expect(endpoint.fetches).toBe(fetches + 1);
    // "first" was forgotten: it is new again, and waits for the next allowed fetch rather than passing.
    expect(await outcome(keys, "first")).toBe(401);
    expect(endpoint.fetches).toBe(fetches + 2);
  });
});

describe("the key set", () => {
  it("stops trusting a key removed from the endpoint at the next fetch", async () => {
    const keys = keyCache();
    await keys.refresh();
    const [old] = endpoint.published;
    expect(await outcome(keys, old!.kid!)).toBe("key");
    endpoint.published = [];
    await endpoint.publish();
    const generation = keys.generation;
    await keys.refresh();
    expect(keys.generation).not.toBe(generation);
    expect(await outcome(keys, old!.kid!)).toBe(401);
  });

  it("keeps the last good keys when a refresh fails", async () => {
    const keys = keyCache();
    await keys.refresh();
    const [current] = endpoint.published;
    endpoint.mode = 503;
    now += 86_400_000;
    await keys.refresh();
    expect(await outcome(keys, current!.kid!)).toBe("key");
    expect(keys.loaded).toBe(true);
  });

  it("when never loaded, answers 503 naming why once a fetch made for the request fails, sharing that fetch", async () => {
    endpoint.mode = 503;
    const keys = keyCache();
    const [current] = endpoint.published;
    const fetches = endpoint.fetches;
    const answers = await Promise.all(Array.from({ length: 10 }, () => keys.getKey(header(current!.kid!), token).catch((e: unknown) => e)));
    for (const answer of answers) expect(String(answer)).toMatch(/no signing keys are loaded: .* answered 503/);
    expect(endpoint.fetches).toBe(fetches + 1);
    expect(keys.loaded).toBe(false);

    endpoint.mode = "ok";
    expect(await outcome(keys, current!.kid!)).toBe("key");
    expect(endpoint.fetches).toBe(fetches + 2);
  });
});

describe("scheduled refreshes", () => {
  it("retry within 30 s after a failure, not a whole refresh interval later, so /readyz recovers by itself", async () => {
    endpoint.mode = 503;
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const keys = keyCache();
    try {
      keys.start();
      await vi.waitFor(() => expect(endpoint.fetches).toBeGreaterThan(0), { interval: 5 });
      const fetches = endpoint.fetches;
      endpoint.mode = "ok";
      await vi.advanceTimersByTimeAsync(30_000);
      await vi.waitFor(() => expect(keys.loaded).toBe(true), { interval: 5 });
      expect(endpoint.fetches).toBe(fetches + 1);
      // Loaded: the next scheduled fetch is a whole refresh interval away.
      await vi.advanceTimersByTimeAsync(3_600_000);
      expect(endpoint.fetches).toBe(fetches + 1);
    } finally {
      keys.stop();
      vi.useRealTimers();
    }
  });
});

describe("why the keys could not be loaded", () => {
  async function failureOf(setup: () => Promise<string> | string): Promise<string> {
    const failures: KeysFetchError[] = [];
    const keys = keyCache({ url: await setup(), failures });
    await keys.refresh();
    expect(keys.loaded).toBe(false);
    expect(failures).toHaveLength(1);
    expect(keys.lastFailure).toBe(failures[0]!.message);
    // The 503 a request gets carries the same cause, so the refusal log line says it too.
    await expect(keys.getKey(header("any"), token)).rejects.toThrow(failures[0]!.message);
    return failures[0]!.message;
  }

  it("names a refused connection", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await failureOf(() => `http://127.0.0.1:${port}/keys`)).toMatch(`could not fetch http://127.0.0.1:${port}/keys: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it("names a timeout", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      expect(await failureOf(() => `http://127.0.0.1:${(silent.address() as AddressInfo).port}/keys`)).toMatch(/timed out after 1000 ms$/);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("names the HTTP status and what the endpoint said", async () => {
    expect(await failureOf(() => ((endpoint.mode = 503), endpoint.url))).toBe(`${endpoint.url} answered 503: {"error":"temporarily_unavailable"}`);
  });

  it("names a body that is not JSON", async () => {
    expect(await failureOf(() => ((endpoint.mode = "not-json"), endpoint.url))).toMatch(`${endpoint.url} answered 200 with a body that is not JSON (Unexpected token`);
  });

  it("names a key set without keys", async () => {
    expect(await failureOf(() => ((endpoint.mode = "no-keys"), endpoint.url))).toBe(`${endpoint.url} answered 200 with no keys`);
  });
});
