/**
 * docs/connectors.md's settings reference is each tool's declaration (connectors/<tool>/settings.ts),
 * row for row: every rules key, the variable it maps onto, what it means and its default. A setting
 * added, renamed or given another default without the docs fails here, with the table to paste.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { credentialVariables } from "../../../receiver/src/connectors/credentials.ts";
import { settingVariable, type ConnectorKind } from "../../../receiver/src/connectors/kind.ts";
import { CONNECTOR_KINDS } from "../../../receiver/src/connectors/kinds.ts";
import { REPO_ROOT } from "../../support/paths.ts";

/** The reference table a tool's declaration stands for. */
function referenceTable(kind: ConnectorKind): string {
  const rows = ["| rules key | variable | meaning | default |", "|---|---|---|---|"];
  const [user, password, clientId, clientSecret] = credentialVariables(kind.credentials).map((v) => `\`${kind.prefix}${v}\``);
  const entries = Object.entries(kind.settings);
  const [url, ...rest] = entries;
  rows.push(`| \`url\` | \`${settingVariable(kind, "url")}\` | ${url![1].doc} | required |`);
  rows.push(`| \`auth.username\`, \`auth.passwordEnv\` or \`auth.passwordFile\` | ${user}, ${password} | ${kind.credentials.basicDoc} | — |`);
  if (kind.credentials.oauth) rows.push(`| \`auth.clientId\`, \`auth.clientSecretEnv\` or \`auth.clientSecretFile\` | ${clientId}, ${clientSecret} | ${kind.credentials.oauthDoc} | — |`);
  for (const [key, declared] of rest) {
    rows.push(`| \`${key}\` | \`${settingVariable(kind, key)}\` | ${declared.doc} | ${declared.required ? "required" : (declared.shownDefault ?? "unset")} |`);
  }
  return rows.join("\n");
}

const doc = readFileSync(join(REPO_ROOT, "docs/connectors.md"), "utf8");

describe("docs/connectors.md's settings reference", () => {
  for (const kind of CONNECTOR_KINDS) {
    it(`lists exactly ${kind.label}'s declared settings`, () => {
      const section = doc.slice(doc.indexOf(`## ${kind.label}`));
      const table = /\| rules key \|[\s\S]*?(?=\n\n)/.exec(section)?.[0];
      expect(table, `docs/connectors.md has no settings table under "## ${kind.label}"`).toBeDefined();
      expect(table).toBe(referenceTable(kind));
    });
  }
});
