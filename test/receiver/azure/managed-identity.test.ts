/**
 * The receiver's PostgreSQL password under DATABASE_AUTH=azure-managed-identity: a managed-identity
 * token fetched from the Container Apps endpoint (or IMDS), cached, refreshed before expiry, and
 * handed to pg for every new connection. Against test/fakes/managed-identity-fake.ts, which follows
 * Microsoft's documented request and response formats, and a PostgreSQL front that asks for a
 * cleartext password (protocol v3 AuthenticationCleartextPassword) the way Azure's Entra sign-in does.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../receiver/src/config.ts";
import { openDatabase } from "../../../receiver/src/store/open-database.ts";
import { ManagedIdentityTokenError, managedIdentityToken, type ManagedIdentityTokenOptions } from "../../../receiver/src/azure/managed-identity.ts";
import { POSTGRES_ENTRA_RESOURCE } from "../../../receiver/src/contract.ts";
import { startManagedIdentityFake, type ManagedIdentityFake } from "../../fakes/managed-identity-fake.ts";

/** The provider as the database uses it. */
const entraDatabasePassword = (options: Omit<ManagedIdentityTokenOptions, "resource" | "purpose" | "code">) =>
  managedIdentityToken({ resource: POSTGRES_ENTRA_RESOURCE, purpose: "database token", code: "DATABASE_TOKEN_UNAVAILABLE", ...options });

const POSTGRES_RESOURCE = "https://ossrdbms-aad.database.windows.net";
let fake: ManagedIdentityFake;
let clock = Date.parse("2026-11-25T12:00:00Z");
const now = () => clock;

beforeAll(async () => {
  fake = await startManagedIdentityFake({ now });
});
afterAll(() => fake.close());
afterEach(() => {
  fake.requests.length = 0;
  fake.expiresOn = (s) => s + 24 * 3600;
  clock = Date.parse("2026-11-25T12:00:00Z");
});

const containerAppsEnv = () => ({ IDENTITY_ENDPOINT: fake.identityEndpoint, IDENTITY_HEADER: fake.identityHeader });

describe("entraDatabasePassword", () => {
  it("gets a token for Azure Database for PostgreSQL from the Container Apps endpoint, for the user-assigned identity", async () => {
    const password = entraDatabasePassword({ clientId: fake.clientId, env: containerAppsEnv(), now });
    const token = await password();
    expect(token).toBe(fake.issued.at(-1));
    expect(fake.requests).toEqual([
      {
        path: "/msi/token",
        query: { "api-version": "2019-08-01", resource: POSTGRES_RESOURCE, client_id: fake.clientId },
        headers: { "x-identity-header": fake.identityHeader, metadata: undefined },
      },
    ]);
  });

  it("falls back to IMDS when the Container Apps variables are unset", async () => {
    const password = entraDatabasePassword({ clientId: fake.clientId, env: {}, imdsEndpoint: fake.imdsEndpoint, now });
    expect(await password()).toBe(fake.issued.at(-1));
    expect(fake.requests[0]).toEqual({
      path: "/metadata/identity/oauth2/token",
      query: { "api-version": "2018-02-01", resource: POSTGRES_RESOURCE, client_id: fake.clientId },
      headers: { "x-identity-header": undefined, metadata: "true" },
    });
  });

  it("reuses the token for new connections, one request for connections opened together, and refreshes 5 minutes before expiry", async () => {
    fake.expiresOn = (s) => s + 3600;
    const password = entraDatabasePassword({ clientId: fake.clientId, env: containerAppsEnv(), now });
    const together = await Promise.all([password(), password(), password()]);
    expect(new Set(together).size).toBe(1);
    expect(fake.requests).toHaveLength(1);
    clock += 54 * 60_000;
    expect(await password()).toBe(together[0]);
    expect(fake.requests).toHaveLength(1);
    clock += 2 * 60_000;
    const refreshed = await password();
    expect(refreshed).not.toBe(together[0]);
    expect(fake.requests).toHaveLength(2);
  });

  it("keeps using a still-valid token while a refresh fails, and fails with a stable code once it expired", async () => {
    fake.expiresOn = (s) => s + 3600;
    const password = entraDatabasePassword({ clientId: fake.clientId, env: containerAppsEnv(), now });
    const first = await password();
    clock += 57 * 60_000;
    fake.failNext(2);
    expect(await password()).toBe(first);
    clock += 4 * 60_000;
    const failure = await password().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ManagedIdentityTokenError);
    expect(failure).toMatchObject({ code: "DATABASE_TOKEN_UNAVAILABLE", message: expect.stringContaining("answered 500") });
    expect(await password()).not.toBe(first);
  });

  it("says which identity or endpoint is wrong, without a token in the message", async () => {
    const unknown = entraDatabasePassword({ clientId: "99999999-0000-4000-8000-000000000099", env: containerAppsEnv(), now });
    await expect(unknown()).rejects.toThrow(/Container Apps identity endpoint .* answered 400: .*Identity not found/);
    const wrongHeader = entraDatabasePassword({ env: { IDENTITY_ENDPOINT: fake.identityEndpoint, IDENTITY_HEADER: "stale" }, now });
    await expect(wrongHeader()).rejects.toThrow("answered 401");
    const unreachable = entraDatabasePassword({ env: {}, imdsEndpoint: "http://127.0.0.1:1/metadata/identity/oauth2/token", timeoutMs: 2000, now });
    await expect(unreachable()).rejects.toMatchObject({ code: "DATABASE_TOKEN_UNAVAILABLE", message: expect.stringContaining("Instance Metadata Service at http://127.0.0.1:1/metadata/identity/oauth2/token is unreachable") });
  });
});

/** A PostgreSQL front that asks for a cleartext password, records it, and refuses the login. */
async function passwordProbe(): Promise<{ url: string; passwords: string[]; close(): Promise<void> }> {
  const passwords: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let buffer = Buffer.alloc(0);
    let started = false;
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!started && buffer.length >= 4 && buffer.length >= buffer.readInt32BE(0)) {
        buffer = buffer.subarray(buffer.readInt32BE(0));
        started = true;
        // 'R', length 8, 3 = AuthenticationCleartextPassword.
        socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
      }
      if (started && buffer.length >= 5 && buffer[0] === 0x70 && buffer.length >= 1 + buffer.readInt32BE(1)) {
        const length = buffer.readInt32BE(1);
        passwords.push(buffer.subarray(5, 1 + length - 1).toString("utf8"));
        const fields = Buffer.from("SFATAL\0C28P01\0Mpassword authentication failed (probe)\0\0", "utf8");
        const error = Buffer.alloc(5);
        error.write("E", 0);
        error.writeInt32BE(4 + fields.length, 1);
        socket.end(Buffer.concat([error, fields]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `postgres://secexp-prod-identity@127.0.0.1:${port}/secure_export`,
    passwords,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("the receiver's database with DATABASE_AUTH=azure-managed-identity", () => {
  it("signs in to PostgreSQL with the managed identity's token as the password, as the stack configures it", async () => {
    const probe = await passwordProbe();
    const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };
    process.env.IDENTITY_ENDPOINT = fake.identityEndpoint;
    process.env.IDENTITY_HEADER = fake.identityHeader;
    try {
      const config = loadConfig({
        ENTRA_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        ENTRA_AUDIENCES: "api://x",
        DATABASE_URL: probe.url,
        DATABASE_AUTH: "azure-managed-identity",
        AZURE_CLIENT_ID: fake.clientId,
        DATABASE_POOL_MAX: "5",
      });
      expect(config).toMatchObject({ databaseAuth: { kind: "azure-managed-identity", clientId: fake.clientId }, databasePoolMax: 5 });
      const opening = openDatabase({ databaseUrl: config.databaseUrl, dataDir: ".", databaseAuth: config.databaseAuth, maxConnections: config.databasePoolMax });
      await expect(opening).rejects.toThrow("password authentication failed (probe)");
      expect(probe.passwords).toEqual([fake.issued.at(-1)]);
    } finally {
      process.env.IDENTITY_ENDPOINT = saved.endpoint;
      process.env.IDENTITY_HEADER = saved.header;
      if (saved.endpoint === undefined) delete process.env.IDENTITY_ENDPOINT;
      if (saved.header === undefined) delete process.env.IDENTITY_HEADER;
      await probe.close();
    }
  });

  it("refuses an unknown DATABASE_AUTH and a managed identity without DATABASE_URL, naming the variable", () => {
    const base = { ENTRA_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47", ENTRA_AUDIENCES: "api://x" };
    expect(() => loadConfig({ ...base, DATABASE_AUTH: "kerberos" })).toThrow('DATABASE_AUTH must be "password" or "azure-managed-identity", got "kerberos"');
    expect(() => loadConfig({ ...base, DATABASE_AUTH: "azure-managed-identity" })).toThrow("DATABASE_URL is required with DATABASE_AUTH=azure-managed-identity");
    expect(() => loadConfig({ ...base, DATABASE_URL: "postgres://x@h/db", DATABASE_AUTH: "azure-managed-identity", AZURE_CLIENT_ID: "uami" })).toThrow("AZURE_CLIENT_ID must be a GUID");
    expect(loadConfig(base)).toMatchObject({ databaseAuth: { kind: "password" }, databasePoolMax: 10 });
  });
});
