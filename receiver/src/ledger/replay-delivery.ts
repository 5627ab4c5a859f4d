/** An operator replays a dead-lettered delivery: it is queued again with a fresh deadline. */
import type { Database } from "../store/database.ts";
import { getDelivery, type DeliveryView } from "../store/delivery-queries.ts";
import { retryDelivery } from "../store/outbox.ts";

export type Replay = { outcome: "replayed"; delivery: DeliveryView } | { outcome: "not_found" } | { outcome: "not_dead"; delivery: DeliveryView };

export async function replayDelivery(db: Database, id: string, maxAgeMs: number): Promise<Replay> {
  return db.transaction(async (tx) => {
    const existing = await getDelivery(tx, id);
    if (!existing) return { outcome: "not_found" };
    if (!(await retryDelivery(tx, id, maxAgeMs))) return { outcome: "not_dead", delivery: existing };
    return { outcome: "replayed", delivery: (await getDelivery(tx, id))! };
  });
}
