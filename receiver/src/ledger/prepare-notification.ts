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

/**
 * The path of the first value nested deeper than `max`, or null. Iterative: depth cannot overflow
 * the stack here. Paths are only spelled out for a body that is too deep (every body is walked,
 * and building a path string per value was most of this walk's cost).
 */
export function tooDeep(value: unknown, max: number): string | null {
  const stack: Array<{ value: unknown; depth: number; parent: number; step: string | number }> = [];
  const trail: Array<{ parent: number; step: string | number }> = [];
  stack.push({ value, depth: 0, parent: -1, step: "" });
  while (stack.length > 0) {
    const { value: v, depth, parent, step } = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth >= max) return pathOf(trail, parent, step);
    // Only containers need a trail entry: a path ends at the first container too deep.
    const here = trail.push({ parent, step }) - 1;
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) stack.push({ value: v[i], depth: depth + 1, parent: here, step: i });
    else for (const k in v) if (Object.hasOwn(v, k)) stack.push({ value: (v as Record<string, unknown>)[k], depth: depth + 1, parent: here, step: k });
  }
  return null;
}

function pathOf(trail: ReadonlyArray<{ parent: number; step: string | number }>, parent: number, step: string | number): string {
  const steps: Array<string | number> = [step];
  for (let at = parent; at > 0; at = trail[at]!.parent) steps.push(trail[at]!.step);
  let path = "body";
  for (const s of steps.reverse()) path = typeof s === "number" ? `${path}[${s}]` : path === "body" ? s : `${path}.${s}`;
  return path;
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

/**
 * Keys a plain object cannot hold in sorted order: those JavaScript orders before all others, as
 * numbers, whatever order they were added in (array indexes; a few more, to be safe), and
 * __proto__, which sets the prototype instead.
 */
const UNSORTABLE_KEY = /^(?:0|[1-9]\d{0,9}|__proto__)$/;
const UNSORTABLE = Symbol("unsortable");

/**
 * A copy of a parsed body whose objects hold their keys in sorted order, so that one
 * JSON.stringify writes what `canonical` writes value by value: 11 µs for an Azure sample against 18
 * (measured in isolation), and a rolling upgrade keeps every key the release before made. An
 * object with a key it cannot hold in order (UNSORTABLE_KEY) sends the body to `canonical`. Plain
 * objects: one without a prototype is a slow dictionary to V8, and the copy gained nothing.
 */
function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = sortedCopy(value[i]);
      if (item === UNSORTABLE) return UNSORTABLE;
      copy[i] = item;
    }
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (UNSORTABLE_KEY.test(key)) return UNSORTABLE;
    const item = sortedCopy((value as Record<string, unknown>)[key]);
    if (item === UNSORTABLE) return UNSORTABLE;
    copy[key] = item;
  }
  return copy;
}

/** Identical content, whatever its whitespace or key order, is the same delivery. */
export function dedupKey(payload: unknown): string {
  const sorted = sortedCopy(payload);
  let text: string;
  if (sorted === UNSORTABLE) {
    const out: string[] = [];
    canonical(payload, out);
    text = out.join("");
  } else {
    text = JSON.stringify(sorted);
  }
  return createHash("sha256").update(text).digest("hex");
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
