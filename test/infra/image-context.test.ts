/**
 * The Docker build context (.dockerignore) holds exactly what receiver/Dockerfile copies. Docker
 * matches .dockerignore patterns from the context root (moby/patternmatcher, Go filepath.Match), so
 * only an allow-list — ignore everything, then re-include — keeps nested node_modules, stack files
 * and tests out; this checks it is one and that it re-includes each copied path, nothing more.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/paths.ts";

const lines = (file: string) => readFileSync(join(REPO_ROOT, file), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));

describe("the image build context", () => {
  it("ignores everything but the paths the Dockerfile copies", () => {
    const ignore = lines(".dockerignore");
    const copied = lines("receiver/Dockerfile")
      .filter((l) => l.startsWith("COPY ") && !l.includes("--from"))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(ignore[0]).toBe("*");
    expect(ignore.slice(1).map((l) => l.replace(/^!/, "")).sort()).toEqual([...new Set(copied)].sort());
    expect(ignore.slice(1).every((l) => l.startsWith("!"))).toBe(true);
  });

  it("builds on a pinned Node release, the one the project runs on", () => {
    const bases = lines("receiver/Dockerfile").filter((l) => l.startsWith("FROM ")).map((l) => l.split(/\s+/)[1]);
    const engines = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).engines.node as string;
    for (const base of bases) {
      const version = /^node:(\d+)\.(\d+)\.(\d+)-slim(@sha256:[0-9a-f]{64})?$/.exec(base!);
      expect(version, `${base} is not a pinned node:x.y.z-slim`).not.toBeNull();
      const [major, minor] = /(\d+)\.(\d+)/.exec(engines)!.slice(1).map(Number) as [number, number];
      expect(Number(version![1]) > major || (Number(version![1]) === major && Number(version![2]) >= minor)).toBe(true);
    }
  });
});
