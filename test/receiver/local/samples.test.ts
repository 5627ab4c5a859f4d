/**
 * The bundled Azure Monitor samples, as a newcomer sends them one after the other with
 * `npm run send-alert`: each must become its own incident, so no two may share an alertId.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { REPO_ROOT } from "../../support/paths.ts";

const DIR = join(REPO_ROOT, "test/fixtures/azure-monitor");

it("gives every fired sample an alertId of its own", () => {
  const owners = new Map<string, string[]>();
  for (const file of readdirSync(DIR).filter((f) => f.endsWith("-fired.json"))) {
    const alertId = (JSON.parse(readFileSync(join(DIR, file), "utf8")) as { data: { essentials: { alertId: string } } }).data.essentials.alertId.toLowerCase();
    owners.set(alertId, [...(owners.get(alertId) ?? []), file]);
  }
  expect([...owners.values()].filter((files) => files.length > 1)).toEqual([]);
  expect(owners.size).toBeGreaterThanOrEqual(6);
});
