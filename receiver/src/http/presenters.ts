/** Ledger records as the API shows them. */
import type { CiSummary } from "../store/ledger-queries.ts";
import type { StoredIncident } from "../store/incidents.ts";
import type { DeliveryView } from "../store/delivery-queries.ts";

const iso = (value: string | null) => (value === null ? null : new Date(value).toISOString());

export function presentCi(ci: CiSummary) {
  return { ...ci, firstSeenAt: iso(ci.firstSeenAt), lastSeenAt: iso(ci.lastSeenAt) };
}

export function presentIncident(incident: StoredIncident, cis: readonly CiSummary[], deliveries: readonly DeliveryView[]) {
  const { last: _order, ...rest } = incident;
  return { ...rest, firedAt: iso(incident.firedAt), resolvedAt: iso(incident.resolvedAt), configurationItems: cis.map(presentCi), deliveries };
}

/** Opaque keyset cursors: base64url JSON of the last item's sort key. */
export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodeCursor<T>(cursor: string, valid: (value: unknown) => value is T): T | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    return valid(value) ? value : null;
  } catch {
    return null;
  }
}
