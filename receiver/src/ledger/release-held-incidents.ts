/**
 * The end of maintenance holds: every incident whose hold has ended is released — sent now when
 * still open, never sent when it was resolved inside the window. Holds are rows, so a restart in
 * the middle of a window loses nothing; SKIP LOCKED lets several replicas release side by side.
 */
import { bindingsOf } from "../store/configuration-items.ts";
import type { Database } from "../store/database.ts";
import { lockReleasableIncidents, type StoredIncident } from "../store/incidents.ts";
import { ChangeSet, writeChanges, type DeliveryTargets } from "./change-set.ts";

const BATCH = 100;

export async function releaseHeldIncidents(db: Database, targets: DeliveryTargets, now: Date = new Date()): Promise<Array<{ incident: StoredIncident; sent: boolean }>> {
  const released: Array<{ incident: StoredIncident; sent: boolean }> = [];
  for (;;) {
    const batch = await db.transaction(async (tx) => {
      const due = await lockReleasableIncidents(tx, now.toISOString(), BATCH);
      const bindings = await bindingsOf(tx, due.map((i) => i.id));
      const changes = new ChangeSet(targets, now);
      const done = due.map((incident) => ({ incident: changes.release(incident, bindings.get(incident.id) ?? []), sent: incident.state === "open" }));
      writeChanges(tx, changes);
      return done;
    });
    released.push(...batch);
    if (batch.length < BATCH) return released;
  }
}
