/** ARM resource ids, parsed into what a CMDB keys and shows. Pure. */

export interface ParsedResourceId {
  /** Lower-cased: ARM ids are case-insensitive and Azure sends them in mixed casing. */
  resourceId: string;
  subscriptionId: string | null;
  resourceGroup: string | null;
  /** e.g. microsoft.compute/virtualmachines; nested types joined: microsoft.sql/servers/databases. */
  providerType: string | null;
  /** The last name segment (the resource's own name), as Azure spelled it. */
  name: string;
}

export function parseResourceId(id: string): ParsedResourceId | null {
  const trimmed = id.trim().replace(/\/+$/, "");
  const parts = trimmed.split("/").filter(Boolean);
  if (parts.length < 2 || parts[0]?.toLowerCase() !== "subscriptions") return null;
  const subscriptionId = parts[1]!.toLowerCase();
  let resourceGroup: string | null = null;
  let providerType: string | null = null;
  let name = parts[1]!;

  let i = 2;
  if (parts[i]?.toLowerCase() === "resourcegroups" && parts[i + 1]) {
    resourceGroup = parts[i + 1]!.toLowerCase();
    name = parts[i + 1]!;
    i += 2;
  }
  if (parts[i]?.toLowerCase() === "providers" && parts[i + 1]) {
    const namespace = parts[i + 1]!;
    const rest = parts.slice(i + 2);
    // After the namespace, segments alternate type/name: servers/s1/databases/db1.
    const types = rest.filter((_, index) => index % 2 === 0);
    const names = rest.filter((_, index) => index % 2 === 1);
    if (types.length > 0) providerType = [namespace, ...types].join("/").toLowerCase();
    name = names.at(-1) ?? namespace;
  }
  return { resourceId: `/${parts.join("/")}`.toLowerCase(), subscriptionId, resourceGroup, providerType, name };
}
