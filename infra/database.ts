/**
 * Where the receiver keeps its ledger when databaseMode is postgres: an Azure Database for
 * PostgreSQL flexible server with private access only (in the stack's network) and Microsoft Entra
 * authentication only. A managed identity of its own is the server's Entra administrator, used only
 * by the migration job (migration-job.ts); the receiver signs in as its own identity, whose role has
 * data rights only. Both sign in with access tokens: there is no password anywhere, not even an
 * unused one in state.
 *
 * The server runs one operation at a time (a second gets ServerBusy), so the administrator and the
 * database are created one after the other, and the Container App waits for both.
 */
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql/index.js";
import * as pulumi from "@pulumi/pulumi";
import type { PostgresSettings } from "./stack-config.ts";

export const DATABASE_NAME = "secure_export";

export interface DatabaseArgs {
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  settings: PostgresSettings;
  tenantId: pulumi.Input<string>;
  /** The subnet delegated to flexible servers. */
  subnetId: pulumi.Input<string>;
  /** The private DNS zone (`*.private.postgres.database.azure.com`) linked to the network. */
  privateDnsZoneId: pulumi.Input<string>;
  /** Resources the server must wait for: the zone's link to the network. */
  networkReady: pulumi.Resource[];
  /** The identity that becomes the server's Entra administrator (the migration job's). */
  administrator: { principalId: pulumi.Input<string>; name: pulumi.Input<string> };
  /** The receiver's identity: its name is its database user (the role the migration job creates). */
  user: { name: pulumi.Input<string> };
  /** `protect` the server and its database. Default false. */
  protect?: boolean;
}

export class Database extends pulumi.ComponentResource {
  /** postgres://{receiver identity name}@{server}:5432/secure_export?sslmode=verify-full — no password in it. */
  readonly connectionString: pulumi.Output<string>;
  /** The same for the administrator identity (the migration job). */
  readonly administratorConnectionString: pulumi.Output<string>;
  readonly server: dbforpostgresql.Server;
  /** What a client must wait for before connecting: the administrator and the database. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-export:index:Database", name, {}, opts);
    const protect = args.protect ?? false;

    this.server = new dbforpostgresql.Server(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        version: args.settings.version,
        sku: { name: args.settings.sku, tier: args.settings.tier },
        storage: { storageSizeGB: 32, autoGrow: "Enabled" },
        authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled", tenantId: args.tenantId },
        network: { delegatedSubnetResourceId: args.subnetId, privateDnsZoneArmResourceId: args.privateDnsZoneId, publicNetworkAccess: "Disabled" },
        backup: { backupRetentionDays: 7, geoRedundantBackup: "Disabled" },
        highAvailability: { mode: "Disabled" },
      },
      { parent: this, protect, dependsOn: args.networkReady },
    );
    const administrator = new dbforpostgresql.AdministratorsMicrosoftEntra(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        serverName: this.server.name,
        objectId: args.administrator.principalId,
        principalName: args.administrator.name,
        // This API's enum is lower camel case (dbforpostgresql PrincipalType: user, servicePrincipal, group).
        principalType: "servicePrincipal",
        tenantId: args.tenantId,
      },
      { parent: this },
    );
    const database = new dbforpostgresql.Database(
      name,
      { databaseName: DATABASE_NAME, resourceGroupName: args.resourceGroupName, serverName: this.server.name, charset: "UTF8", collation: "en_US.utf8" },
      { parent: this, protect, dependsOn: [administrator] },
    );
    this.ready = [administrator, database];
    // verify-full: the server's certificate must chain to a trusted root AND name the host
    // (Azure's chain ends at DigiCert Global Root G2 or Microsoft RSA Root CA 2017, both in Node's bundle).
    this.connectionString = pulumi.interpolate`postgres://${args.user.name}@${this.server.fullyQualifiedDomainName}:5432/${database.name}?sslmode=verify-full`;
    this.administratorConnectionString = pulumi.interpolate`postgres://${args.administrator.name}@${this.server.fullyQualifiedDomainName}:5432/${database.name}?sslmode=verify-full`;
    this.registerOutputs({ serverName: this.server.name });
  }
}
