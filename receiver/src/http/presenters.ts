/** Ledger records as the API shows them. */
import type { CiSummary } from "../store/ledger-queries.ts";
import type { StoredIncident } from "../store/incidents.ts";
import type { DeliveryView } from "../store/delivery-queries.ts";

const iso = (value: string | null) => (value === null ? null : new Date(value).toISOString());

export function presentCi(ci: CiSummary) {
  return { ...ci, firstSeenAt: iso(ci.firstSeenAt), lastSeenAt: iso(ci.lastSeenAt) };
}

export function presentIncident({ incident, cis, deliveries }: { incident: StoredIncident; cis: readonly CiSummary[]; deliveries: readonly DeliveryView[] }) {
  const { last: _order, ...rest } = incident;
  return { ...rest, firedAt: iso(incident.firedAt), resolvedAt: iso(incident.resolvedAt), configurationItems: cis.map(presentCi), deliveries };
}
