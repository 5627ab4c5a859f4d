/** Resource id parsing and CI binding (docs/incidents.md#incidents-and-the-cmdb). */
import { describe, expect, it } from "vitest";
import { normaliseAlert } from "../../../receiver/src/alerts/normalise.ts";
import { bindingsFor } from "../../../receiver/src/cmdb/bindings.ts";
import { parseResourceId } from "../../../receiver/src/cmdb/resource-id.ts";
import { wrapContext } from "../../support/fixtures.ts";

describe("parseResourceId", () => {
  it.each([
    [
      "/subscriptions/AAAA/resourceGroups/RG-1/providers/Microsoft.Compute/virtualMachines/VM-1",
      { resourceId: "/subscriptions/aaaa/resourcegroups/rg-1/providers/microsoft.compute/virtualmachines/vm-1", subscriptionId: "aaaa", resourceGroup: "rg-1", providerType: "microsoft.compute/virtualmachines", name: "VM-1" },
    ],
    [
      "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/srv/databases/db1/",
      { resourceId: "/subscriptions/s/resourcegroups/rg/providers/microsoft.sql/servers/srv/databases/db1", subscriptionId: "s", resourceGroup: "rg", providerType: "microsoft.sql/servers/databases", name: "db1" },
    ],
    ["/subscriptions/s", { resourceId: "/subscriptions/s", subscriptionId: "s", resourceGroup: null, providerType: null, name: "s" }],
    ["/subscriptions/s/resourceGroups/rg", { resourceId: "/subscriptions/s/resourcegroups/rg", subscriptionId: "s", resourceGroup: "rg", providerType: null, name: "rg" }],
  ])("parses %s", (id, parsed) => {
    expect(parseResourceId(id)).toEqual(parsed);
  });

  it.each(["", "vm1", "/resourceGroups/rg", "subscriptions", "https://portal.azure.com"])("refuses %j", (id) => {
    expect(parseResourceId(id)).toBeNull();
  });
});

describe("bindingsFor", () => {
  it("binds targets, context resources and matching names; keeps other names unbound", () => {
    const payload = wrapContext("log-alerts-v2.json", {
      alertTargetIDs: ["/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/VM1"],
      configurationItems: ["vm1", "printer-7", "PRINTER-7"],
    });
    payload.data.alertContext.condition.allOf[0].dimensions = [{ name: "_ResourceId", value: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/shop" }];
    const bindings = bindingsFor(normaliseAlert(payload));
    expect(bindings).toEqual([
      { bound: true, source: "target", names: ["vm1"], resource: expect.objectContaining({ resourceId: "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1" }) },
      { bound: true, source: "context", names: [], resource: expect.objectContaining({ providerType: "microsoft.web/sites", name: "shop" }) },
      { bound: false, source: "name", name: "printer-7" },
    ]);
  });

  it("binds nothing, and drops nothing, for a budget alert with null targets", () => {
    const payload = wrapContext("metric-static.json", { alertTargetIDs: null, configurationItems: ["budgets"] });
    expect(bindingsFor(normaliseAlert(payload))).toEqual([{ bound: false, source: "name", name: "budgets" }]);
  });
});
