/**
 * Which configuration items an alert concerns (README.md#incidents-and-the-cmdb): resources by ARM id from
 * alertTargetIDs and from the alertContext (log dimensions), and configurationItems names matched
 * to those ids by resource name; a name that matches no id is kept as an unbound CI. Pure.
 */
import type { NormalisedAlert } from "../alerts/normalise.ts";
import { parseResourceId, type ParsedResourceId } from "./resource-id.ts";

export type BindingSource = "target" | "context" | "name";

export type CiBinding =
  | { bound: true; source: BindingSource; resource: ParsedResourceId; names: string[] }
  | { bound: false; source: "name"; name: string };

export function bindingsFor(alert: NormalisedAlert): CiBinding[] {
  const bound: Array<Extract<CiBinding, { bound: true }>> = [];
  const add = (id: string, source: BindingSource) => {
    const resource = parseResourceId(id);
    if (resource && !bound.some((b) => b.resource.resourceId === resource.resourceId)) bound.push({ bound: true, source, resource, names: [] });
  };
  alert.targetResourceIds.forEach((id) => add(id, "target"));
  alert.affectedResourceIds.forEach((id) => add(id, "context"));

  const unbound: CiBinding[] = [];
  for (const name of alert.configurationItems) {
    const match = bound.find((b) => b.resource.name.toLowerCase() === name.toLowerCase());
    if (match) match.names.push(name);
    else if (!unbound.some((u) => !u.bound && u.name.toLowerCase() === name.toLowerCase())) unbound.push({ bound: false, source: "name", name });
  }
  return [...bound, ...unbound];
}
