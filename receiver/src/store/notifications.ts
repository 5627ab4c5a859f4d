/** The durable notification log: every acknowledged delivery, once. */
import type { Principal } from "../auth/token-rules.ts";
import type { Queryable, Transaction } from "./database.ts";

export interface NewNotification {
  dedupKey: string;
  alertId: string;
  monitorCondition: string;
  monitoringService: string;
  rawPayload: string;
  caller: Principal;
  /** False: the admission rules refused it (`admissionRule` names the rule; null for the default). */
  admitted: boolean;
  admissionRule: string | null;
}

export interface RecordedNotification {
  id: string;
  duplicate: boolean;
  /** As stored: for a duplicate, what the first delivery was answered. */
  admitted: boolean;
  admissionRule: string | null;
}

/**
 * Records notifications, once per dedup key, in dedup-key order (the lock order every batch
 * follows). Returns, per dedup key, the stored id and whether it was already there.
 */
export async function recordNotifications(tx: Queryable, notifications: readonly NewNotification[]): Promise<Map<string, RecordedNotification>> {
  const byKey = new Map<string, NewNotification>();
  for (const n of notifications) if (!byKey.has(n.dedupKey)) byKey.set(n.dedupKey, n);
  const input = [...byKey.values()].map((n) => ({
    dedup_key: n.dedupKey,
    alert_id: n.alertId,
    monitor_condition: n.monitorCondition,
    monitoring_service: n.monitoringService,
    raw_payload: n.rawPayload,
    caller_tenant_id: n.caller.tenantId,
    caller_object_id: n.caller.objectId,
    caller_app_id: n.caller.callerId,
    token_version: n.caller.tokenVersion,
    admitted: n.admitted,
    admission_rule: n.admissionRule,
  }));
  type Row = { dedup_key: string; id: string | null; duplicate: boolean; admitted: boolean; admission_rule: string | null };
  // The earlier delivery is looked up per duplicate only (LIMIT 1 keeps the lookup a subquery the
  // planner cannot fold into a join): as a plain join, a table without fresh statistics was read
  // whole with every batch (test/receiver/ledger/batch-plans.test.ts).
  const { rows } = await tx.query<Row>(
    `WITH input AS (
       SELECT * FROM json_to_recordset($1::json) AS t(dedup_key text, alert_id text, monitor_condition text, monitoring_service text,
         raw_payload text, caller_tenant_id text, caller_object_id text, caller_app_id text, token_version text, admitted boolean, admission_rule text)),
     inserted AS (
       INSERT INTO notifications (dedup_key, alert_id, monitor_condition, monitoring_service, raw_payload,
         caller_tenant_id, caller_object_id, caller_app_id, token_version, admitted, admission_rule)
       SELECT * FROM input ORDER BY dedup_key
       ON CONFLICT (dedup_key) DO NOTHING
       RETURNING id, dedup_key, admitted, admission_rule)
     SELECT input.dedup_key, COALESCE(inserted.id, earlier.id)::text AS id, inserted.id IS NULL AS duplicate,
       COALESCE(inserted.admitted, earlier.admitted, input.admitted) AS admitted,
       CASE WHEN inserted.id IS NULL THEN earlier.admission_rule ELSE inserted.admission_rule END AS admission_rule
     FROM input LEFT JOIN inserted USING (dedup_key)
     LEFT JOIN LATERAL (SELECT e.id, e.admitted, e.admission_rule FROM notifications e WHERE inserted.id IS NULL AND e.dedup_key = input.dedup_key LIMIT 1) earlier ON true`,
    [JSON.stringify(input)],
    { name: "ledger-record-notifications" },
  );
  const result = new Map<string, RecordedNotification>();
  const late: string[] = [];
  for (const row of rows) {
    if (row.id === null) late.push(row.dedup_key);
    else result.set(row.dedup_key, { id: row.id, duplicate: row.duplicate, admitted: row.admitted, admissionRule: row.admission_rule });
  }
  if (late.length > 0) {
    // Committed by another transaction after this statement's snapshot was taken (the insert
    // waited for it, then did nothing): a new statement sees it.
    const found = await tx.query<{ dedup_key: string; id: string; admitted: boolean; admission_rule: string | null }>(
      "SELECT dedup_key, id::text AS id, admitted, admission_rule FROM notifications WHERE dedup_key = ANY($1::text[])",
      [late],
    );
    for (const row of found.rows) result.set(row.dedup_key, { id: row.id, duplicate: true, admitted: row.admitted, admissionRule: row.admission_rule });
  }
  return result;
}

/** Marks notifications admitted after all: a later notification of an incident that already exists is always taken in. */
export function admitNotifications(tx: Transaction, ids: readonly string[]): void {
  if (ids.length === 0) return;
  tx.later("UPDATE notifications SET admitted = true, admission_rule = NULL WHERE id = ANY($1::bigint[])", [ids], { name: "ledger-admit-notifications" });
}
