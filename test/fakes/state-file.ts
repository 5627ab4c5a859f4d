/**
 * Where a stand-in keeps its records between runs (the local stack's `--with-itsm`): one JSON file,
 * rewritten after every change, so a restart neither forgets tickets nor hands out their numbers again.
 * Without a file the stand-in keeps everything in memory, as the tests want.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface StateFile<T> {
  /** What the file held, or null when there is none yet. */
  loaded: T | null;
  save(state: T): void;
}

export function stateFile<T>(path: string | undefined): StateFile<T> {
  if (!path) return { loaded: null, save: () => undefined };
  let loaded: T | null = null;
  try {
    loaded = JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`cannot read the stand-in's records in ${path}: ${(error as Error).message}; delete the file to start afresh`);
  }
  mkdirSync(dirname(path), { recursive: true });
  return {
    loaded,
    save(state) {
      // Written aside and renamed, so a stand-in stopped mid-write leaves the previous file whole.
      writeFileSync(`${path}.tmp`, JSON.stringify(state));
      renameSync(`${path}.tmp`, path);
    },
  };
}
