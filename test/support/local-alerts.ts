/** Alerts for tests of the user-facing tools: the metric fixture under a fresh alertId, written where send-alert can read it. */
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fixture } from "./fixtures.ts";

export interface TestAlert {
  alertId: string;
  title: string;
  payload: any;
  /** The payload as a file, for `npm run send-alert -- <file>`. */
  file: string;
}

/** A fired metric alert of its own (its own alertId, rule and resource), with optional extra CI names. */
export async function writeAlert(dir: string, options: { title?: string; severity?: string; unboundCi?: string } = {}): Promise<TestAlert> {
  const payload = fixture("metric-static-fired.json");
  const id = randomUUID();
  const essentials = payload.data.essentials;
  const title = options.title ?? `rule-${id.slice(0, 8)}`;
  essentials.alertId = `/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/providers/Microsoft.AlertsManagement/alerts/${id}`;
  essentials.alertRule = title;
  essentials.firedDateTime = new Date().toISOString();
  const resource = `/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/test-rg/providers/microsoft.storage/storageaccounts/st${id.slice(0, 8)}`;
  essentials.alertTargetIDs = [resource];
  essentials.configurationItems = [`st${id.slice(0, 8)}`, ...(options.unboundCi ? [options.unboundCi] : [])];
  if (options.severity) essentials.severity = options.severity;
  const file = join(dir, `${id}.json`);
  await writeFile(file, JSON.stringify(payload));
  return { alertId: essentials.alertId, title, payload, file };
}
