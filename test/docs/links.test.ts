/**
 * The README and docs/ link to each other and into the code: every relative link names a file
 * that exists, and every `#anchor` a heading of that file, as GitHub renders them (its slugs:
 * lower case, punctuation dropped, spaces to hyphens, a repeated heading gets -1, -2, …).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/paths.ts";

function markdownFiles(): string[] {
  const docs = readdirSync(join(REPO_ROOT, "docs"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".md"));
  return ["README.md", ...docs.map((f) => join("docs", f))];
}

/** Lines outside fenced code blocks. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split("\n").filter((line) => {
    if (line.startsWith("```")) fenced = !fenced;
    return !fenced;
  });
}

export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(text)) {
    const heading = /^#{1,6} (.+)$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, "").replace(/ /g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

function links(text: string): string[] {
  return prose(text).flatMap((line) => [...line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!));
}

describe("documentation links", () => {
  for (const file of markdownFiles()) {
    it(`${file}: every relative link and anchor resolves`, () => {
      const text = readFileSync(join(REPO_ROOT, file), "utf8");
      const broken: string[] = [];
      for (const link of links(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue;
        const [path, anchor] = link.split("#") as [string, string | undefined];
        const target = path === "" ? join(REPO_ROOT, file) : join(REPO_ROOT, dirname(file), path);
        if (!existsSync(target)) {
          broken.push(`${link}: no file ${relative(REPO_ROOT, target)}`);
          continue;
        }
        if (anchor && target.endsWith(".md") && !anchors(readFileSync(target, "utf8")).has(anchor)) broken.push(`${link}: no heading #${anchor}`);
      }
      expect(broken).toEqual([]);
    });
  }

  it("code comments that point into the docs name a page and heading that exist", () => {
    const sources = ["receiver", "infra", "test", ".ci", ".github"]
      .flatMap((dir) => readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: "utf8" }).map((f) => join(dir, f)))
      .filter((f) => !f.includes("node_modules") && /\.(ts|js|ya?ml)$/.test(f));
    const broken: string[] = [];
    for (const source of sources) {
      if (!existsSync(join(REPO_ROOT, source))) continue;
      for (const [, page, anchor] of readFileSync(join(REPO_ROOT, source), "utf8").matchAll(/\b((?:README|docs\/[\w/-]+)\.md)#([\w-]+)/g)) {
        const target = join(REPO_ROOT, page!);
        if (!existsSync(target) || !anchors(readFileSync(target, "utf8")).has(anchor!)) broken.push(`${source}: ${page}#${anchor}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("the README stays a front door, and links to every page in docs/", () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    expect(readme.split("\n").length).toBeLessThanOrEqual(300);
    const linked = new Set(links(readme).map((l) => l.split("#")[0]));
    expect(markdownFiles().filter((f) => f !== "README.md" && !linked.has(f))).toEqual([]);
  });
});
