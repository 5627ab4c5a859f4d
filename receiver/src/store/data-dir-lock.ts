/**
 * One process per embedded data directory. PGlite has no lock of its own: two processes on one
 * directory both answer 202, and what one of them acknowledged is gone after a restart. The lock
 * is a file created exclusively, naming its holder; a holder that no longer runs (same host, pid
 * gone) left a stale lock, which is taken over.
 */
import { hostname } from "node:os";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";

export class DataDirLockedError extends Error {
  constructor(dir: string, holder: string) {
    super(`${dir} is in use by ${holder}; stop that process or give this one another DATA_DIR`);
    this.name = "DataDirLockedError";
  }
}

interface Holder {
  pid: number;
  host: string;
  since: string;
  command: string;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the directory's lock; the returned function gives it back. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, "receiver.lock");
  const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), command: process.argv.slice(1).join(" ") };
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const file = await open(path, "wx");
      await file.writeFile(JSON.stringify(me));
      await file.close();
      return async () => {
        const current = await readFile(path, "utf8").catch(() => "");
        if (current.includes(`"pid":${me.pid},`)) await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = JSON.parse(await readFile(path, "utf8").catch(() => "{}")) as Partial<Holder>;
      const stale = holder.host === me.host && typeof holder.pid === "number" && !running(holder.pid);
      if (!stale) {
        throw new DataDirLockedError(dir, `process ${holder.pid ?? "?"} on ${holder.host ?? "?"} since ${holder.since ?? "?"} (${holder.command ?? "unknown command"})`);
      }
      await rm(path, { force: true });
    }
  }
  throw new DataDirLockedError(dir, "another process that keeps taking it");
}
