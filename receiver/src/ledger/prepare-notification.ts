/**
 * Everything about a notification that needs no database, done before it joins a batch: its
 * normalised shape, its dedup key, its CI bindings, and the storage rules that let any alert
 * Azure can send be stored. Pure.
 *
 * Storage rules (docs/http-api.md#what-is-stored-as-sent-and-what-is-adjusted):
 * - the raw body is stored exactly as received;
 * - in the fields the ledger stores and indexes, a NUL character and a lone UTF-16 surrogate
 *   become U+FFFD (PostgreSQL text and jsonb cannot hold either);
 * - times are stored in UTC; a firedDateTime or resolvedDateTime outside the years 0001-9999 in UTC
 *   is refused with 422 naming the field (no real alert has one, and neither store nor the API
 *   could show it);
 * - JSON nested deeper than MAX_DEPTH levels is refused with 422 naming where;
 * - ids and names of any length are stored; the index uses their SHA-256 beyond 512 bytes
 *   (store/keys.ts);
 * - an alert binds at most MAX_BINDINGS CIs (resources first, then names): Azure's 256 KB allow
 *   ~15,000 names, and binding them all would hold the store (and on the embedded one, the event
 *   loop) for seconds; the raw body keeps every one.
 */
import { createHash } from "node:crypto";
import type { NormalisedAlert } from "../alerts/normalise.ts";
import { normaliseAlert } from "../alerts/normalise.ts";
import type { CommonAlert } from "../alerts/schema.ts";
import type { Principal } from "../auth/token-rules.ts";
import { bindingsFor, type CiBinding } from "../cmdb/bindings.ts";
import type { RoutingExplanation } from "../routing/explain.ts";
import { storableText, utcTime } from "../store/storable.ts";

/** Deeper than any alertContext Azure documents, and far below what would exhaust the stack. */
export const MAX_DEPTH = 64;

/** More CIs than any real alert names; the rest stay in the raw body. */
export const MAX_BINDINGS = 1000;

export interface PreparedNotification {
  alert: NormalisedAlert;
  dedupKey: string;
  rawPayload: string;
  caller: Principal;
  bindings: CiBinding[];
  /** What the routing rules said when it arrived (routing/explain.ts); absent: admitted, to every connector. */
  routing?: RoutingExplanation;
}

export type Preparation = { ok: true; notification: PreparedNotification } | { ok: false; field: string; message: string };

const storableOrNull = (value: string | null): string | null => (value === null ? null : storableText(value));

/** The path of the first value nested deeper than `max`, or null. Iterative: depth cannot overflow the stack here. */
export function tooDeep(value: unknown, max: number): string | null {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: "body" }];
  while (stack.length > 0) {
    const { value: v, depth, path } = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth >= max) return path;
    if (Array.isArray(v)) v.forEach((item, i) => stack.push({ value: item, depth: depth + 1, path: `${path}[${i}]` }));
    else for (const [k, item] of Object.entries(v)) stack.push({ value: item, depth: depth + 1, path: path === "body" ? k : `${path}.${k}` });
  }
  return null;
}

function canonical(value: unknown, out: string[]): void {
  if (value === null || typeof value !== "object") {
    out.push(JSON.stringify(value) ?? "null");
    return;
  }
  if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item, i) => {
      if (i > 0) out.push(",");
      canonical(item, out);
    });
    out.push("]");
    return;
  }
  const keys = Object.keys(value).sort();
  out.push("{");
  keys.forEach((key, i) => {
    out.push(i > 0 ? "," : "", JSON.stringify(key), ":");
    canonical((value as Record<string, unknown>)[key], out);
  });
  out.push("}");
}

/** Identical content, whatever its whitespace or key order, is the same delivery. */
export function dedupKey(payload: unknown): string {
  const out: string[] = [];
  canonical(payload, out);
  return createHash("sha256").update(out.join("")).digest("hex");
}

function storable(alert: NormalisedAlert, firedAt: string, resolvedAt: string | null): NormalisedAlert {
  return {
    ...alert,
    alertId: storableText(alert.alertId),
    monitoringService: storableText(alert.monitoringService),
    signalType: storableOrNull(alert.signalType),
    alertRule: storableOrNull(alert.alertRule),
    alertRuleId: storableOrNull(alert.alertRuleId),
    title: storableText(alert.title),
    description: storableOrNull(alert.description),
    firedAt,
    resolvedAt,
    occurredAt: resolvedAt ?? firedAt,
    targetResourceIds: alert.targetResourceIds.map(storableText),
    affectedResourceIds: alert.affectedResourceIds.map(storableText),
    configurationItems: alert.configurationItems.map(storableText),
  };
}

export function prepareNotification(payload: CommonAlert, rawPayload: string, caller: Principal): Preparation {
  const deep = tooDeep(payload, MAX_DEPTH);
  if (deep) return { ok: false, field: deep, message: `${deep} is nested deeper than ${MAX_DEPTH} levels` };
  const e = payload.data.essentials;
  const firedAt = utcTime(e.firedDateTime);
  if (!firedAt) return { ok: false, field: "data.essentials.firedDateTime", message: "data.essentials.firedDateTime must be a time between the years 0001 and 9999 in UTC" };
  let resolvedAt: string | null = null;
  if (e.monitorCondition === "Resolved" && e.resolvedDateTime) {
    resolvedAt = utcTime(e.resolvedDateTime);
    if (!resolvedAt) return { ok: false, field: "data.essentials.resolvedDateTime", message: "data.essentials.resolvedDateTime must be a time between the years 0001 and 9999 in UTC" };
  }
  const alert = storable(normaliseAlert(payload), firedAt, resolvedAt);
  return { ok: true, notification: { alert, dedupKey: dedupKey(payload), rawPayload, caller, bindings: bindingsFor(alert).slice(0, MAX_BINDINGS) } };
}
