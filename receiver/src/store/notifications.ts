/** The durable notification log: every acknowledged delivery, once. */
import { createHash } from "node:crypto";
import type { Principal } from "../auth/token-rules.ts";
import type { Queryable } from "./database.ts";

export interface NewNotification {
  dedupKey: string;
  alertId: string;
  monitorCondition: string;
  monitoringService: string;
  rawPayload: string;
  caller: Principal;
}

export interface RecordedNotification {
  id: string;
  duplicate: boolean;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Identical content, whatever its whitespace or key order, is the same delivery. */
export function dedupKey(payload: unknown): string {
  return createHash("sha256").update(canonical(payload)).digest("hex");
}

export async function recordNotification(tx: Queryable, n: NewNotification): Promise<RecordedNotification> {
  const inserted = await tx.query<{ id: string }>(
    `INSERT INTO notifications
       (dedup_key, alert_id, monitor_condition, monitoring_service, raw_payload,
        caller_tenant_id, caller_object_id, caller_app_id, token_version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (dedup_key) DO NOTHING
     RETURNING id::text AS id`,
    [
      n.dedupKey,
      n.alertId,
      n.monitorCondition,
      n.monitoringService,
      n.rawPayload,
      n.caller.tenantId,
      n.caller.objectId,
      n.caller.callerId,
      n.caller.tokenVersion,
    ],
  );
  const row = inserted.rows[0];
  if (row) return { id: row.id, duplicate: false };
  const existing = await tx.query<{ id: string }>("SELECT id::text AS id FROM notifications WHERE dedup_key = $1", [n.dedupKey]);
  const found = existing.rows[0];
  if (!found) throw new Error("notification vanished between insert and lookup");
  return { id: found.id, duplicate: true };
}
