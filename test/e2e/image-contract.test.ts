/**
 * The container image's contract, without a Docker engine: the receiver's production dependencies
 * installed alone with the Dockerfile's own install command into a temporary directory holding
 * only what the Dockerfile copies, then started with the image's CMD against the local issuer.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_APP_CLIENT_ID, LOCAL_APP_ID_URI, LOCAL_TENANT_ID } from "../../receiver/local/local-identity.ts";
import { startLocalIssuer, type LocalIssuer } from "../../receiver/local/local-issuer.ts";
import { fixture } from "../support/fixtures.ts";
import { start, waitReady } from "../support/processes.ts";
import { REPO_ROOT } from "../support/paths.ts";

const run = promisify(execFile);

interface ImageRecipe {
  install: string[];
  copies: string[];
  cmd: string[];
}

/** Reads the install command, the copied source paths and CMD from receiver/Dockerfile. */
function recipe(dockerfile: string): ImageRecipe {
  const lines = dockerfile.replace(/\\\n/g, " ").split("\n").map((l) => l.trim());
  const installLine = lines.find((l) => l.startsWith("RUN npm ci"));
  const cmdLine = lines.find((l) => l.startsWith("CMD "));
  if (!installLine || !cmdLine) throw new Error("Dockerfile has no `RUN npm ci` or no CMD");
  const install = installLine.slice(4).split("&&")[0]!.trim().split(/\s+/);
  const copies = lines.filter((l) => l.startsWith("COPY ") && !l.includes("--from")).flatMap((l) => l.split(/\s+/).slice(1, -1));
  return { install, copies, cmd: JSON.parse(cmdLine.slice(4)) as string[] };
}

let issuer: LocalIssuer;
let appDir: string;
let dataDir: string;
let image: ImageRecipe;

beforeAll(async () => {
  image = recipe(await readFile(join(REPO_ROOT, "receiver/Dockerfile"), "utf8"));
  appDir = await mkdtemp(join(tmpdir(), "secure-export-image-"));
  dataDir = await mkdtemp(join(tmpdir(), "secure-export-image-data-"));
  for (const path of image.copies) {
    await mkdir(join(appDir, path, ".."), { recursive: true });
    await cp(join(REPO_ROOT, path), join(appDir, path), { recursive: true });
  }
  const [command, ...args] = image.install;
  await run(command!, args, { cwd: appDir, timeout: 120_000 });
  issuer = await startLocalIssuer();
}, 180_000);

afterAll(async () => {
  await issuer?.close();
  await rm(appDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

describe("the receiver image", () => {
  it("copies only the receiver and installs only its runtime dependencies", async () => {
    expect(image.copies.sort()).toEqual(["package-lock.json", "package.json", "receiver/package.json", "receiver/package.json", "receiver/src", "receiver/console"].sort());
    const installed = await readdir(join(appDir, "node_modules"));
    for (const dependency of ["fastify", "jose", "pg", "@electric-sql", "ajv", "prom-client"]) expect(installed).toContain(dependency);
    // The CLI's sign-in library and the browser-test driver are the repository's, not the image's.
    for (const unwanted of ["@pulumi", "vitest", "typescript", "fast-check", "autocannon", "@types", "@azure", "playwright-core"]) expect(installed).not.toContain(unwanted);
  });

  it("starts with its CMD from the environment alone, accepts an alert, and stops cleanly on SIGTERM", async () => {
    expect(image.cmd).toEqual(["node", "receiver/src/serve.ts"]);
    const receiver = start(image.cmd.slice(1), {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      PORT: "0",
      METRICS_PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      ENTRA_TENANT_ID: LOCAL_TENANT_ID,
      ENTRA_AUDIENCES: `${LOCAL_APP_ID_URI},${LOCAL_APP_CLIENT_ID}`,
      ENTRA_AUTHORITY: issuer.url,
      ENTRA_CLIENT_ID: LOCAL_APP_CLIENT_ID,
    }, appDir);
    try {
      const [, url] = await receiver.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/, 110_000);
      await waitReady(url!, receiver);
      const response = await fetch(`${url}/api/alerts`, {
        method: "POST",
        headers: { authorization: `Bearer ${await issuer.mint()}`, "content-type": "application/json" },
        body: JSON.stringify(fixture("metric-static-fired.json")),
      });
      expect(response.status).toBe(202);
      // The web console and the API docs are served from the image's own files.
      const consolePage = await fetch(`${url}/console/`);
      expect(consolePage.status).toBe(200);
      expect(await consolePage.text()).toContain('src="app.js"');
      for (const path of ["/console/app.js", "/console/vendor/oauth4webapi/index.js", "/console/config.json", "/docs/"]) expect((await fetch(`${url}${path}`)).status, path).toBe(200);
    } finally {
      expect(await receiver.stop("SIGTERM")).toBe(0);
    }
  }, 120_000);
});
