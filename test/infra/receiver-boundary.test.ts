/**
 * What the Pulumi program takes from the receiver: only the declared boundary — the contract
 * (receiver/src/contract.ts) and the routing rules' check (receiver/src/routing/check.ts) — and
 * every package the program loads at run time, through that boundary included, is a dependency of
 * the root package.json, which `pulumi up` runs from. Resolving one only through npm's hoisting of
 * the receiver workspace would break the day the workspace's versions diverge.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/paths.ts";

const BOUNDARY = ["receiver/src/contract.ts", "receiver/src/routing/check.ts"];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** Every `from "…"` (and side-effect import) of a file, type-only ones left out: they load nothing. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^"';]*?\s+from\s+)?"([^"]+)"/gm)].filter((m) => !m[1]).map((m) => m[2]!);
}

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/** The files and packages the program loads from its entry, following relative imports wherever they lead. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of specifiers(file)) {
      if (specifier.startsWith(".")) visit(resolve(dirname(file), specifier));
      else if (!specifier.startsWith("node:") && !builtinModules.includes(specifier)) packages.add(packageName(specifier));
    }
  };
  visit(entry);
  return { files: seen, packages };
}

describe("the Pulumi program and the receiver", () => {
  it("imports from the receiver only its declared boundary", () => {
    const crossings = files(join(REPO_ROOT, "infra")).flatMap((file) =>
      specifiers(file)
        .filter((s) => s.startsWith("."))
        .map((s) => relative(REPO_ROOT, resolve(dirname(file), s)))
        .filter((target) => target.startsWith("receiver/") && !BOUNDARY.includes(target))
        .map((target) => `${relative(REPO_ROOT, file)} -> ${target}`),
    );
    expect(crossings).toEqual([]);
  });

  it("has every package it loads at run time in the root package.json's dependencies", () => {
    const { dependencies } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    const loaded = closure(join(REPO_ROOT, "infra/index.ts"));
    expect([...loaded.packages].filter((p) => !(p in dependencies)).sort()).toEqual([]);
    // The check does reach into the receiver: without these files the preview could not check the rules.
    expect([...loaded.files].map((f) => relative(REPO_ROOT, f))).toEqual(expect.arrayContaining(BOUNDARY));
  });
});
