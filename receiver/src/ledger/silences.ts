/**
 * Silences at run time, like `amtool silence add` (docs/noise.md#silences): an operator mutes
 * what a match names for a while. A new incident a silence covers is held like a maintenance
 * window holds it (ChangeSet): stored, visible with the silence's id, sent when the silence ends if
 * still open, never if it resolved inside. Expiring a silence early releases what it held at once.
 */
import type { Database } from "../store/database.ts";
import { expireSilence, insertSilence, releaseSilenced, type Silence } from "../store/noise.ts";

export async function addSilence(db: Database, silence: Omit<Silence, "id" | "createdAt" | "expiredBy">): Promise<Silence> {
  return db.transaction((tx) => insertSilence(tx, silence));
}

/**
 * Ends a silence now. Null when there is none; `changed` false when it was already over. The
 * incidents it held are due at once: the noise timer's next run sends those still open.
 */
export async function expireSilenceNow(db: Database, command: { id: string; actor: string; now: Date }): Promise<{ silence: Silence; changed: boolean; released: number } | null> {
  return db.transaction(async (tx) => {
    const at = command.now.toISOString();
    const outcome = await expireSilence(tx, command.id, command.actor, at);
    if (!outcome) return null;
    const released = outcome.changed ? await releaseSilenced(tx, command.id, at) : 0;
    return { ...outcome, released };
  });
}
