/**
 * `pulumi destroy` on the recorded dependency graph: the engine deletes a resource only after
 * everything that depends on it (dependencies and parents, reversed), skipping `retainOnDelete`
 * ones. Checked against what Azure releases late or keeps after a delete:
 * - a Container Apps environment in a VNet subnet leaves the subnet's service association link
 *   behind for minutes to days after its own deletion (microsoft/azure-container-apps#974), so the
 *   virtual network holding that subnet — and the resource group holding the network — cannot be
 *   deleted in the same run (InUseSubnetCannotBeDeleted; an ARM group delete retries only 5xx, 408
 *   and 429: Microsoft Learn, "Azure Resource Manager resource group and resource deletion"): both
 *   must be retained;
 * - a PostgreSQL flexible server holds its delegated subnet, its private DNS zone and the zone's
 *   network link until it is gone, and is deleted only after whatever connects to it: so it must be
 *   deleted before them, and every Container App or job whose environment names its host after it;
 * - soft-deleted resources keep their name for a while (Log Analytics workspaces 14 days:
 *   Microsoft Learn, "Delete and recover a Log Analytics workspace"): they must be auto-named, so a
 *   stack created again after a destroy never asks for a name still held.
 * What is not late must not be retained: a stack without such a link leaves nothing behind.
 */

export interface GraphResource {
  type: string;
  name: string;
  urn: string;
  inputs: Record<string, any>;
  dependencies: string[];
  parent?: string;
  retainOnDelete: boolean;
}

/** Soft-deleting types and the input that would name them explicitly. */
const SOFT_DELETED: Record<string, string> = {
  "azure-native:operationalinsights:Workspace": "workspaceName",
};

/** The engine's delete order: reverse topological order of dependencies and parents. */
export function deleteOrder(resources: readonly GraphResource[]): string[] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const dependents = new Map<string, Set<string>>(resources.map((r) => [r.urn, new Set()]));
  for (const r of resources) {
    for (const d of [...r.dependencies, ...(r.parent ? [r.parent] : [])]) if (byUrn.has(d)) dependents.get(d)!.add(r.urn);
  }
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (urn: string, path: Set<string>) => {
    if (done.has(urn)) return;
    if (path.has(urn)) throw new Error(`dependency cycle through ${urn}`);
    path.add(urn);
    for (const dependent of [...dependents.get(urn)!].sort()) visit(dependent, path);
    path.delete(urn);
    done.add(urn);
    order.push(urn);
  };
  // A resource is deleted once all its dependents are: visiting dependents first yields that order.
  for (const r of resources) visit(r.urn, new Set());
  return order;
}

const idOf = (r: GraphResource) => `${r.name}-id`;

export function destroyProblems(resources: readonly GraphResource[]): string[] {
  const problems: string[] = [];
  const order = deleteOrder(resources);
  const position = (r: GraphResource) => order.indexOf(r.urn);
  const deleted = resources.filter((r) => !r.retainOnDelete);
  const of = (type: string) => resources.filter((r) => r.type === type);
  const groupNamed = (name: unknown) => of("azure-native:resources:ResourceGroup").find((g) => g.name === name);
  const mustRetain = new Set<GraphResource>();

  for (const environment of of("azure-native:app:ManagedEnvironment")) {
    const subnet = environment.inputs.vnetConfiguration?.infrastructureSubnetId as string | undefined;
    if (!subnet) continue;
    const network = of("azure-native:network:VirtualNetwork").find((n) => subnet.startsWith(`${idOf(n)}/subnets/`));
    if (!network) {
      problems.push(`${environment.name}: its subnet ${subnet} belongs to no virtual network of the stack`);
      continue;
    }
    const group = groupNamed(network.inputs.resourceGroupName);
    for (const holder of [network, ...(group ? [group] : [])]) {
      mustRetain.add(holder);
      if (!holder.retainOnDelete) {
        problems.push(`${holder.type} ${holder.name} would be deleted in the same destroy as ${environment.name}, whose subnet link Azure releases late (microsoft/azure-container-apps#974): InUseSubnetCannotBeDeleted; retain it and document its clean-up`);
      }
    }
  }

  for (const server of of("azure-native:dbforpostgresql:Server")) {
    const held = [
      of("azure-native:network:VirtualNetwork").find((n) => String(server.inputs.network?.delegatedSubnetResourceId ?? "").startsWith(`${idOf(n)}/subnets/`)),
      of("azure-native:privatedns:PrivateZone").find((z) => server.inputs.network?.privateDnsZoneArmResourceId === idOf(z)),
      ...of("azure-native:privatedns:VirtualNetworkLink"),
    ].filter((r): r is GraphResource => r !== undefined && !r.retainOnDelete);
    for (const r of held) {
      if (position(r) < position(server)) problems.push(`${r.type} ${r.name} would be deleted before the PostgreSQL server ${server.name} that still uses it`);
    }
    const host = `${server.name}.postgres.database.azure.com`;
    const clients = deleted.filter((r) => (r.type === "azure-native:app:ContainerApp" || r.type === "azure-native:app:Job") && JSON.stringify(r.inputs).includes(host));
    for (const client of clients) {
      if (position(client) > position(server)) problems.push(`${client.type} ${client.name} would still be connecting to the PostgreSQL server ${server.name} when the server is deleted`);
    }
  }

  for (const r of resources) {
    const nameInput = SOFT_DELETED[r.type];
    if (nameInput && r.inputs[nameInput] !== undefined) problems.push(`${r.type} ${r.name} is soft-deleted by Azure, but named explicitly ("${r.inputs[nameInput]}"): a stack created again would ask for a name still held`);
  }

  for (const r of resources.filter((r) => r.retainOnDelete && !mustRetain.has(r))) {
    problems.push(`${r.type} ${r.name} is retained on destroy though Azure releases nothing late for it: destroy would leave it behind`);
  }
  return problems;
}
