/**
 * Which configuration items an alert concerns (docs/incidents.md#incidents-and-the-cmdb): resources by ARM id from
 * alertTargetIDs and from the alertContext (log dimensions), and configurationItems names matched
 * to those ids by resource name; a name that matches no id is kept as an unbound CI. Pure.
 */
import type { NormalisedAlert } from "../alerts/normalise.ts";
import { parseResourceId, type ParsedResourceId } from "./resource-id.ts";

export type BindingSource = "target" | "context" | "name";

export type CiBinding =
  | { bound: true; source: BindingSource; resource: ParsedResourceId; names: string[] }
  | { bound: false; source: "name"; name: string };

type Bound = Extract<CiBinding, { bound: true }>;

/**
 * Linear in the alert's size: Azure allows 256 KB of ids and names (about 20,000 of them), and
 * binding runs on the event loop, so every lookup is a Map lookup.
 */
export function bindingsFor(alert: NormalisedAlert): CiBinding[] {
  const bound = new Map<string, Bound>();
  // The first resource of each (case-insensitive) name, as the names are matched against it.
  const byName = new Map<string, Bound>();
  const add = (id: string, source: BindingSource) => {
    const resource = parseResourceId(id);
    if (!resource || bound.has(resource.resourceId)) return;
    const binding: Bound = { bound: true, source, resource, names: [] };
    bound.set(resource.resourceId, binding);
    const name = resource.name.toLowerCase();
    if (!byName.has(name)) byName.set(name, binding);
  };
  alert.targetResourceIds.forEach((id) => add(id, "target"));
  alert.affectedResourceIds.forEach((id) => add(id, "context"));

  const unbound = new Map<string, CiBinding>();
  for (const name of alert.configurationItems) {
    const key = name.toLowerCase();
    const match = byName.get(key);
    if (match) match.names.push(name);
    else if (!unbound.has(key)) unbound.set(key, { bound: false, source: "name", name });
  }
  return [...bound.values(), ...unbound.values()];
}
