/** When a credential counts as expiring (docs/operations.md#credential-expiry), and what the receiver then says: pure, no store. */
import { describe, expect, it } from "vitest";
import { selfAlertPayload } from "../../../receiver/src/alerts/self-alert.ts";
import { credentialAlert, credentialExpiry, watchedCredentials } from "../../../receiver/src/connectors/credential-expiry.ts";
import { configFromEnv } from "../../../receiver/src/connectors/kind.ts";
import { serviceNow } from "../../../receiver/src/connectors/servicenow/index.ts";
import { bmcHelix } from "../../../receiver/src/connectors/bmc-helix/index.ts";
import { ConfigError } from "../../../receiver/src/env.ts";
import { parseRoutingRules } from "../../../receiver/src/routing/load-rules.ts";

const now = new Date("2026-12-06T12:00:00Z");
const watched = (expiresAt: string | null) => ({ connector: "servicenow-prod", credential: "client secret", expiresAt });

describe("credentialExpiry", () => {
  it("is ok before the warning window, with the whole days left", () => {
    expect(credentialExpiry(watched("2027-01-31T00:00:00.000Z"), 14, now)).toMatchObject({ state: "ok", daysLeft: 55 });
  });

  it("warns from warnDays before the expiry on, not a moment earlier", () => {
    expect(credentialExpiry(watched("2026-12-20T12:00:00.000Z"), 14, now)).toMatchObject({ state: "warning", daysLeft: 14 });
    expect(credentialExpiry(watched("2026-12-20T12:00:01.000Z"), 14, now)).toMatchObject({ state: "ok", daysLeft: 14 });
    expect(credentialExpiry(watched("2026-12-07T00:00:00.000Z"), 14, now)).toMatchObject({ state: "warning", daysLeft: 0 });
  });

  it("is expired from the expiry instant on, with negative days", () => {
    expect(credentialExpiry(watched("2026-12-06T12:00:00.000Z"), 14, now)).toMatchObject({ state: "expired", daysLeft: 0 });
    expect(credentialExpiry(watched("2026-12-01T00:00:00.000Z"), 14, now)).toMatchObject({ state: "expired", daysLeft: -6 });
  });

  it("is unknown without a date", () => {
    expect(credentialExpiry(watched(null), 14, now)).toMatchObject({ state: "unknown", daysLeft: null });
  });
});

describe("credentialAlert", () => {
  it("fires inside the window, naming the connector, the credential and the date", () => {
    const alert = credentialAlert(credentialExpiry(watched("2026-12-16T00:00:00.000Z"), 14, now), null, now)!;
    expect(alert).toMatchObject({ key: "credential-expiry/servicenow-prod", condition: "Fired", severity: "Sev2", properties: { connector: "servicenow-prod", expiresAt: "2026-12-16T00:00:00.000Z" } });
    expect(alert.description).toContain("client secret of connector servicenow-prod expires on 2026-12-16, in 9 days");
    expect(selfAlertPayload(alert).data.essentials.alertId).toBe("secure-export/credential-expiry/servicenow-prod");
  });

  it("fires at a higher severity once expired", () => {
    expect(credentialAlert(credentialExpiry(watched("2026-12-01T00:00:00.000Z"), 14, now), null, now)).toMatchObject({ condition: "Fired", severity: "Sev1" });
  });

  it("says nothing again while its incident is open, nor for a credential that is fine or not watched", () => {
    const open = { firedAt: new Date("2026-12-01T00:00:00Z") };
    expect(credentialAlert(credentialExpiry(watched("2026-12-16T00:00:00.000Z"), 14, now), open, now)).toBeNull();
    expect(credentialAlert(credentialExpiry(watched("2027-06-01T00:00:00.000Z"), 14, now), null, now)).toBeNull();
    expect(credentialAlert(credentialExpiry(watched(null), 14, now), null, now)).toBeNull();
  });

  it("resolves the open incident of a credential no longer watched (its date or its connector removed)", () => {
    const open = { firedAt: new Date("2026-12-01T00:00:00Z") };
    const alert = credentialAlert(credentialExpiry(watched(null), 14, now), open, now)!;
    expect(alert).toMatchObject({ condition: "Resolved", firedAt: open.firedAt, resolvedAt: now });
    expect(alert.description).toContain("no longer watched");
  });

  it("resolves the open incident, with its own firing time, once the date moved beyond the window", () => {
    const open = { firedAt: new Date("2026-12-01T00:00:00Z") };
    const alert = credentialAlert(credentialExpiry(watched("2027-06-01T00:00:00.000Z"), 14, now), open, now)!;
    expect(alert).toMatchObject({ condition: "Resolved", firedAt: open.firedAt, resolvedAt: now });
    expect(selfAlertPayload(alert).data.essentials.monitorCondition).toBe("Resolved");
  });
});

describe("credentialExpiresAt, through the environment door", () => {
  const env = { SERVICENOW_URL: "https://dev.service-now.com", SERVICENOW_CLIENT_ID: "id", SERVICENOW_CLIENT_SECRET: "secret" };

  it("takes a day (its start in UTC) or an instant, and names the credential the connector signs in with", () => {
    const day = configFromEnv(serviceNow, { ...env, SERVICENOW_CREDENTIAL_EXPIRES_AT: "2027-03-31" })!;
    expect(day.credentialExpiresAt).toBe("2027-03-31T00:00:00.000Z");
    const instant = configFromEnv(serviceNow, { ...env, SERVICENOW_CREDENTIAL_EXPIRES_AT: "2027-03-31T12:30:00+02:00" })!;
    expect(instant.credentialExpiresAt).toBe("2027-03-31T10:30:00.000Z");
    const helix = configFromEnv(bmcHelix, { BMC_HELIX_URL: "https://h.example", BMC_HELIX_USERNAME: "u", BMC_HELIX_PASSWORD: "p", BMC_HELIX_FIRST_NAME: "A", BMC_HELIX_LAST_NAME: "B" })!;
    expect(watchedCredentials([{ name: "default", config: day }, { name: "helix", config: helix }])).toEqual([
      { connector: "default", credential: "client secret", expiresAt: "2027-03-31T00:00:00.000Z" },
      { connector: "helix", credential: "password", expiresAt: null },
    ]);
  });

  it.each(["31.03.2027", "2027-02-30", "next year", "2027-03-31T12:00"])("refuses %j, naming the variable", (value) => {
    expect(() => configFromEnv(serviceNow, { ...env, SERVICENOW_CREDENTIAL_EXPIRES_AT: value })).toThrow(ConfigError);
    expect(() => configFromEnv(serviceNow, { ...env, SERVICENOW_CREDENTIAL_EXPIRES_AT: value })).toThrow(/SERVICENOW_CREDENTIAL_EXPIRES_AT must be a date like 2027-03-31/);
  });
});

describe("credentialExpiresAt, through the rules door", () => {
  const rules = (expiresAt: string) => `connectors:
  servicenow-prod:
    kind: servicenow
    url: https://prod.service-now.com
    auth: { clientId: sync, clientSecretEnv: SN_SECRET }
    credentialExpiresAt: ${expiresAt}
`;
  const readSecret = () => "secret";

  it("takes an unquoted YAML date", () => {
    const parsed = parseRoutingRules(rules("2027-03-31"), { variable: "ROUTING_RULES", environment: [], readSecret });
    expect(watchedCredentials(parsed.connectors)).toEqual([{ connector: "servicenow-prod", credential: "client secret", expiresAt: "2027-03-31T00:00:00.000Z" }]);
  });

  it("refuses a date that does not exist, at its place in the rules", () => {
    expect(() => parseRoutingRules(rules("2027-02-30"), { variable: "ROUTING_RULES", environment: [], readSecret })).toThrow(/connectors\.servicenow-prod\.credentialExpiresAt.*must be a date like 2027-03-31/);
  });
});
