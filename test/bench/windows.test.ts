/**
 * What one measured window reports beyond its answers (docs/performance.md#what-is-measured): how
 * long the target stayed busy after it (work put off past the answers), and the open loop's
 * lead-in, whose latencies are reported apart from the window's and whose answers count in CPU
 * per alert but not in the rate.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { measure } from "./measure.ts";
import { openLoop } from "./open-loop.ts";
import type { Target } from "./targets.ts";

const children: ChildProcess[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A process that keeps one core busy for `busyMs` from its start, then idles. */
function burner(busyMs: number): ChildProcess {
  const child = spawn(process.execPath, ["-e", `const end = Date.now() + ${busyMs}; while (Date.now() < end); setInterval(() => {}, 1e6);`], { stdio: "ignore" });
  children.push(child);
  return child;
}

const targetOf = (pid: number): Target => ({ key: "t", label: "t", kind: "receiver", origin: "", path: "", headers: {}, bodies: () => "", pid, usesPostgres: false });
const options = () => ({ postgresLocal: false, baselineSeconds: 0, cores: 2, signal: new AbortController().signal });
const noLoad = async () => ({ ok: 1, non2xx: 0, errors: 0, seconds: 0.01, latencies: new Float64Array([1]) });

describe("a measured window", () => {
  it("reports how long the target stayed busy after it, and about nothing for an idle one", { timeout: 30_000 }, async () => {
    const busy = burner(1500);
    const idle = burner(0);
    await new Promise((r) => setTimeout(r, 200));
    const [afterBusy, afterIdle] = [await measure(targetOf(busy.pid!), options(), noLoad), await measure(targetOf(idle.pid!), options(), noLoad)];
    expect(afterBusy.busyAfter).toBeGreaterThan(0.7);
    expect(afterBusy.busyAfter).toBeLessThan(5);
    expect(afterIdle.busyAfter).toBeLessThan(0.3);
  });

  it("keeps the open loop's lead-in apart: its latencies in lead-in p99, its answers out of the rate", { timeout: 30_000 }, async () => {
    // Requests of the lead-in (numbered in their bodies) wait 200 ms; the window's are answered at once.
    const server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => setTimeout(() => response.writeHead(202).end(), (JSON.parse(body) as { n: number }).n < 100 ? 200 : 0));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    let n = 0;
    const sample = await openLoop({
      origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      path: "/",
      headers: {},
      bodies: () => JSON.stringify({ n: n++ }),
      rate: 200,
      leadInSeconds: 0.5,
      seconds: 0.5,
      sockets: 128,
      drainSeconds: 5,
      signal: new AbortController().signal,
    });
    expect(sample).toMatchObject({ sent: 100, ok: 100, unmeasuredOk: 100, non2xx: 0, errors: 0, unfinished: 0 });
    expect(sample.leadInP99Ms).toBeGreaterThanOrEqual(200);
    expect(sample.latencies).toHaveLength(100);
    expect(Math.max(...sample.latencies)).toBeLessThan(150);
    // 100 answers over the window's half second, not over the lead-in's as well.
    expect(sample.achievedRate).toBeGreaterThan(150);
  });
});
