/**
 * Work per alert is linear in its size, and no Azure-sized alert blocks the event loop. Azure caps a
 * notification at 256 KB (https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-common-schema:
 * "the payload ... is limited to 256 KB"), which is room for about 19,000 configurationItems names or
 * 2,200 ARM ids. validate → normalise → bindingsFor all run synchronously on the event loop, so a
 * quadratic step there stalls every request of the process (3–5 s for 15,000 names before).
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { normaliseAlert } from "../../../receiver/src/alerts/normalise.ts";
import { validateAlert } from "../../../receiver/src/alerts/validate.ts";
import { bindingsFor } from "../../../receiver/src/cmdb/bindings.ts";
import { alertContext, wrapContext } from "../../support/fixtures.ts";

const AZURE_MAX_BYTES = 256 * 1024;
const SUBSCRIPTION = "11111111-2222-3333-4444-555555555555";
const vmId = (i: number) => `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-${i % 7}/providers/Microsoft.Compute/virtualMachines/vm-${String(i).padStart(6, "0")}`;
const vmName = (i: number) => `VM-${String(i).padStart(6, "0")}`;

/** As many items as fit while the whole notification stays within Azure's cap. */
function fill(build: (count: number) => any): any {
  let count = 1;
  while (Buffer.byteLength(JSON.stringify(build(count * 2))) <= AZURE_MAX_BYTES) count *= 2;
  let step = count / 2;
  while (step >= 1) {
    if (Buffer.byteLength(JSON.stringify(build(count + step))) <= AZURE_MAX_BYTES) count += step;
    step = Math.floor(step / 2);
  }
  return build(count);
}

const range = (count: number, from = 0) => Array.from({ length: count }, (_, i) => i + from);

const payloads: Record<string, () => any> = {
  "names that match no resource": () => fill((n) => wrapContext("metric-static.json", { alertTargetIDs: [], configurationItems: range(n).map((i) => `printer-${i}`) })),
  "target ids": () => fill((n) => wrapContext("metric-static.json", { alertTargetIDs: range(n).map(vmId), configurationItems: [] })),
  "target ids and the names that bind to them": () =>
    fill((n) => wrapContext("metric-static.json", { alertTargetIDs: range(Math.ceil(n / 8)).map(vmId), configurationItems: range(n).map((i) => vmName(i % Math.ceil(n / 8))) })),
  "names repeated in other casings": () => fill((n) => wrapContext("metric-static.json", { alertTargetIDs: [], configurationItems: range(n).map((i) => (i % 2 ? `ci-${i >> 1}` : `CI-${i >> 1}`)) })),
  "log search results naming resources, beside targets": () =>
    fill((n) => {
      const payload = wrapContext("log-analytics.json", { alertTargetIDs: range(Math.ceil(n / 2)).map(vmId), configurationItems: [] });
      payload.data.alertContext = {
        ...alertContext("log-analytics.json"),
        SearchResults: { tables: [{ name: "PrimaryResult", columns: [{ name: "_ResourceId", type: "string" }], rows: range(n, Math.ceil(n / 4)).map((i) => [vmId(i)]) }] },
      };
      return payload;
    }),
};

function intake(payload: unknown) {
  const validation = validateAlert(payload);
  if (!validation.ok) throw new Error(validation.message);
  return bindingsFor(normaliseAlert(validation.alert));
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("an Azure-sized alert (256 KB)", () => {
  /** The longest the event loop stood still while one alert went through validate → normalise → bindings. */
  async function longestBlockMs(payload: unknown): Promise<number> {
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    await tick(20);
    const bindings = intake(payload);
    await tick(20);
    delay.disable();
    expect(bindings.length).toBeGreaterThan(1000);
    return delay.max / 1e6;
  }

  it.each(Object.keys(payloads))("of %s never blocks the event loop for long", async (kind) => {
    const payload = payloads[kind]!();
    expect(Buffer.byteLength(JSON.stringify(payload))).toBeGreaterThan(AZURE_MAX_BYTES * 0.95);
    // Our own block recurs on every attempt; the machine pausing this process (2 cores shared by many)
    // does not, so the best of up to three attempts measures the code, not the neighbours. A block of
    // seconds is never the neighbours: no need to wait for more of those.
    let best = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const blocked = await longestBlockMs(payload);
      best = Math.min(best, blocked);
      if (best < 200 || blocked >= 2000) break;
    }
    // Generous: a few ms is the goal (the quadratic version blocked 3 to 8 s).
    expect(best).toBeLessThan(200);
  });
});

describe("binding configuration items", () => {
  /**
   * CPU time (not wall time, which a busy shared machine stretches at random) of the fastest of a
   * few runs, small and large interleaved so that both meet the same conditions.
   */
  function cpuRatio(small: unknown, large: unknown): number {
    const cpu = (payload: unknown) => {
      const before = process.cpuUsage();
      intake(payload);
      const used = process.cpuUsage(before);
      return used.user + used.system;
    };
    cpu(small); // warm up the JIT on this shape
    let bestSmall = Number.POSITIVE_INFINITY;
    let bestLarge = Number.POSITIVE_INFINITY;
    for (let run = 0; run < 7; run += 1) {
      bestSmall = Math.min(bestSmall, cpu(small));
      bestLarge = Math.min(bestLarge, cpu(large));
    }
    return bestLarge / bestSmall;
  }

  it.each([
    ["unmatched names", (n: number) => wrapContext("metric-static.json", { alertTargetIDs: [], configurationItems: range(n).map((i) => `printer-${i}`) })],
    ["target ids", (n: number) => wrapContext("metric-static.json", { alertTargetIDs: range(n).map(vmId), configurationItems: [] })],
    ["names binding to targets", (n: number) => wrapContext("metric-static.json", { alertTargetIDs: range(n / 4).map(vmId), configurationItems: range(n).map((i) => vmName(i % (n / 4))) })],
  ] as const)("takes time linear in the number of %s (4 times as many: well under 16 times as long)", (_kind, build) => {
    // Linear is about 4 (up to 10.5 measured: a 4 times larger heap costs the GC more than 4 times); quadratic
    // about 16, and 20 to 23 measured before the fix.
    expect(cpuRatio(build(8_000), build(32_000))).toBeLessThan(13);
  });

  it("keeps what the quadratic version kept, in the same order", () => {
    const payload = wrapContext("metric-static.json", {
      alertTargetIDs: [vmId(1), vmId(2), vmId(1).toUpperCase(), `/subscriptions/${SUBSCRIPTION}/resourceGroups/other/providers/Microsoft.Web/sites/vm-000002`],
      configurationItems: ["vm-000002", "printer", "VM-000001", "PRINTER", "vm-000001"],
    });
    expect(intake(payload)).toEqual([
      { bound: true, source: "target", names: ["VM-000001", "vm-000001"], resource: expect.objectContaining({ resourceId: vmId(1).toLowerCase() }) },
      { bound: true, source: "target", names: ["vm-000002"], resource: expect.objectContaining({ resourceId: vmId(2).toLowerCase() }) },
      // Same name as vm-000002: names go to the first resource of that name.
      { bound: true, source: "target", names: [], resource: expect.objectContaining({ providerType: "microsoft.web/sites" }) },
      { bound: false, source: "name", name: "printer" },
    ]);
  });
});
