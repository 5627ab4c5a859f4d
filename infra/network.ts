/**
 * The stack's private network for PostgreSQL: a virtual network with one subnet for the Container
 * Apps environment and one for the flexible server, and the private DNS zone through which the
 * server's name resolves to its private address inside that network. Nothing in it is reachable
 * from outside the virtual network (no firewall rule, no public access).
 *
 * Sources: Microsoft Learn, "Networking with private access (VNet integration)" for flexible server
 * (a subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers, a private DNS zone ending in
 * .postgres.database.azure.com linked to the network) and "Virtual network configuration" for
 * Container Apps (workload profiles environment: a dedicated subnet of at least /27 delegated to
 * Microsoft.App/environments).
 */
import * as network from "@pulumi/azure-native/network/index.js";
import * as privatedns from "@pulumi/azure-native/privatedns/index.js";
import * as pulumi from "@pulumi/pulumi";

/** The network is the stack's own: its range only has to avoid a network it is later peered with. */
export const ADDRESS_SPACE = "10.42.0.0/16";
export const SUBNETS = {
  containerApps: { name: "container-apps", addressPrefix: "10.42.0.0/23", delegation: "Microsoft.App/environments" },
  postgres: { name: "postgres", addressPrefix: "10.42.2.0/24", delegation: "Microsoft.DBforPostgreSQL/flexibleServers" },
} as const;

export interface PrivateNetworkArgs {
  resourceGroupName: pulumi.Input<string>;
  /**
   * Leave the virtual network (and so its resource group) in Azure on `pulumi destroy`: the
   * Container Apps environment's service association link on its subnet outlives the environment
   * by minutes to days (microsoft/azure-container-apps#974), and deleting the network before then
   * fails with InUseSubnetCannotBeDeleted, half-way through the destroy. docs/deploy/pulumi.md says
   * how to delete what is left once Azure has released the subnet.
   */
  retainOnDelete: boolean;
  location: pulumi.Input<string>;
  /** The private DNS zone's name, `{label}.private.postgres.database.azure.com`. */
  privateDnsZoneName: string;
}

export class PrivateNetwork extends pulumi.ComponentResource {
  readonly virtualNetwork: network.VirtualNetwork;
  readonly containerAppsSubnetId: pulumi.Output<string>;
  readonly postgresSubnetId: pulumi.Output<string>;
  readonly postgresDnsZone: privatedns.PrivateZone;
  /** The link that makes the zone resolve inside the network: the server must wait for it. */
  readonly postgresDnsLink: privatedns.VirtualNetworkLink;

  constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-export:index:PrivateNetwork", name, {}, opts);
    const parent = { parent: this };
    // Subnets inline: azure-native warns that mixing inline and standalone subnets deletes them.
    this.virtualNetwork = new network.VirtualNetwork(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        addressSpace: { addressPrefixes: [ADDRESS_SPACE] },
        subnets: Object.values(SUBNETS).map((subnet) => ({
          name: subnet.name,
          addressPrefix: subnet.addressPrefix,
          delegations: [{ name: subnet.delegation.replace("/", "."), serviceName: subnet.delegation }],
        })),
      },
      { parent: this, retainOnDelete: args.retainOnDelete },
    );
    this.containerAppsSubnetId = pulumi.interpolate`${this.virtualNetwork.id}/subnets/${SUBNETS.containerApps.name}`;
    this.postgresSubnetId = pulumi.interpolate`${this.virtualNetwork.id}/subnets/${SUBNETS.postgres.name}`;

    this.postgresDnsZone = new privatedns.PrivateZone(
      name,
      { resourceGroupName: args.resourceGroupName, location: "Global", privateZoneName: args.privateDnsZoneName },
      parent,
    );
    this.postgresDnsLink = new privatedns.VirtualNetworkLink(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: "Global",
        privateZoneName: this.postgresDnsZone.name,
        registrationEnabled: false,
        virtualNetwork: { id: this.virtualNetwork.id },
      },
      parent,
    );
    this.registerOutputs({ virtualNetworkId: this.virtualNetwork.id });
  }
}
