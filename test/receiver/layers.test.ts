/**
 * The receiver's folders read as the flow (the README's layout): imports point down it, never up, and
 * no files import each other in a circle. A new file in a folder not listed here fails the test too,
 * so the order stays a decision.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../receiver/src/", import.meta.url));

/** Top of the flow first; a path belongs to the first entry it starts with. */
const LAYERS: readonly (readonly string[])[] = [
  ["serve.ts", "migrate-job.ts", "node-version.mjs", "log-destination.ts"],
  ["receiver.ts"],
  ["http/", "jobs/"],
  // Settings are composed here, from each concern's own config type, just under what runs them.
  ["config.ts"],
  ["ledger/"],
  ["store/"],
  ["routing/"],
  ["connectors/"],
  // Azure's own APIs as the receiver's managed identity calls them (tokens, Resource Manager).
  ["azure/"],
  ["metrics.ts", "outbox/"],
  // Token checks are pure rules and a key cache: they need nothing of the flow above.
  ["auth/", "incidents/", "cmdb/"],
  ["alerts/", "env.ts", "contract.ts", "network-errors.ts"],
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.(ts|mjs)$/.test(name) ? [path] : [];
  });
}

const layerOf = (file: string) => LAYERS.findIndex((layer) => layer.some((prefix) => relative(SRC, file).startsWith(prefix)));

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/\bfrom\s+"(\.{1,2}\/[^"]+)"/g)].map((m) => resolve(dirname(file), m[1]!)).filter((target) => target.startsWith(SRC));
}

it("places every source file in a layer", () => {
  expect(files(SRC).filter((f) => layerOf(f) === -1).map((f) => relative(SRC, f))).toEqual([]);
});

it("imports only from its own layer or the ones below it", () => {
  const upward = files(SRC).flatMap((file) =>
    imports(file)
      .filter((target) => layerOf(target) < layerOf(file))
      .map((target) => `${relative(SRC, file)} -> ${relative(SRC, target)}`),
  );
  expect(upward).toEqual([]);
});

it("has no import cycles", () => {
  const graph = new Map(files(SRC).map((f) => [f, imports(f)]));
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(" -> "));
      return;
    }
    state.set(file, "open");
    for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  expect(cycles).toEqual([]);
});
