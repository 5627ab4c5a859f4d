/**
 * Where the receiver keeps its ledger: an Azure Database for PostgreSQL flexible server for real
 * environments, or the embedded store for preview stacks (nothing to create; data is disposable).
 */
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql/index.js";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { DatabaseMode } from "./stack-config.ts";

export interface DatabaseArgs {
  mode: DatabaseMode;
  resourceGroupName: pulumi.Input<string>;
  location: pulumi.Input<string>;
  /** Flexible server SKU. Default Standard_B1ms (Burstable). */
  sku?: string;
  /** PostgreSQL major version. Default "16". */
  version?: string;
  /** `protect` the server and its database. Default false. */
  protect?: boolean;
}

export const DATABASE_NAME = "secure_export";
const ADMIN_LOGIN = "secureexport";

export class Database extends pulumi.ComponentResource {
  /** postgres://… connection string, a secret; undefined for the embedded store. */
  readonly connectionString: pulumi.Output<string> | undefined;
  readonly server: dbforpostgresql.Server | undefined;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("secure-export:index:Database", name, {}, opts);
    if (args.mode === "embedded") {
      this.connectionString = undefined;
      this.server = undefined;
      this.registerOutputs({});
      return;
    }
    const protect = args.protect ?? false;
    const password = new random.RandomPassword(`${name}-admin`, { length: 32, special: false }, { parent: this });

    this.server = new dbforpostgresql.Server(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        version: args.version ?? "16",
        sku: { name: args.sku ?? "Standard_B1ms", tier: (args.sku ?? "Standard_B1ms").startsWith("Standard_B") ? "Burstable" : "GeneralPurpose" },
        storage: { storageSizeGB: 32, autoGrow: "Enabled" },
        administratorLogin: ADMIN_LOGIN,
        administratorLoginPassword: password.result,
        authConfig: { passwordAuth: "Enabled" },
        backup: { backupRetentionDays: 7, geoRedundantBackup: "Disabled" },
        highAvailability: { mode: "Disabled" },
      },
      { parent: this, protect },
    );
    // Container Apps on the Consumption plan have no fixed outbound address: allow Azure services.
    new dbforpostgresql.FirewallRule(
      `${name}-azure-services`,
      { firewallRuleName: "AllowAzureServices", resourceGroupName: args.resourceGroupName, serverName: this.server.name, startIpAddress: "0.0.0.0", endIpAddress: "0.0.0.0" },
      { parent: this },
    );
    const database = new dbforpostgresql.Database(
      name,
      { databaseName: DATABASE_NAME, resourceGroupName: args.resourceGroupName, serverName: this.server.name, charset: "UTF8", collation: "en_US.utf8" },
      { parent: this, protect },
    );
    this.connectionString = pulumi.secret(
      pulumi.interpolate`postgres://${ADMIN_LOGIN}:${password.result}@${this.server.fullyQualifiedDomainName}:5432/${database.name}?sslmode=require`,
    );
    this.registerOutputs({ serverName: this.server.name });
  }
}
