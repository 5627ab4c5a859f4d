/**
 * CPU and memory of the processes under test, read from Linux's /proc (proc(5)): per-process CPU
 * from /proc/<pid>/stat (utime, stime, and cutime/cstime for children already reaped), memory from
 * /proc/<pid>/status (VmRSS now, VmHWM the peak since start), the machine from /proc/stat.
 * Elsewhere than Linux every reader answers undefined and the bench reports the columns as absent.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const HAS_PROC = process.platform === "linux";
/** Clock ticks per second of the time fields in /proc/<pid>/stat (sysconf(_SC_CLK_TCK), 100 on Linux). */
const CLK_TCK = HAS_PROC ? Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100 : 100;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The fields after the command name: it is in parentheses and may itself hold spaces or ")". */
function statFields(pid: number | string): { comm: string; fields: string[] } | undefined {
  const text = readText(`/proc/${pid}/stat`);
  if (!text) return undefined;
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  return { comm: text.slice(open + 1, close), fields: text.slice(close + 2).split(" ") };
}

// proc(5) numbers the fields from 1 with pid and comm first; after comm, field n is at index n - 3.
const UTIME = 14 - 3;
const STIME = 15 - 3;
const CUTIME = 16 - 3;
const CSTIME = 17 - 3;

/** CPU seconds the process has used (user + system), or undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  if (!HAS_PROC) return undefined;
  const stat = statFields(pid);
  if (!stat) return undefined;
  return (Number(stat.fields[UTIME]) + Number(stat.fields[STIME])) / CLK_TCK;
}

/**
 * CPU seconds used by every process named `postgres` on this machine: the postmaster, every backend
 * (of any database and any user: a shared server's other work counts too, hence the idle baseline),
 * the WAL writer, checkpointer and so on. A backend that exits is reaped by the postmaster, whose
 * cutime/cstime then holds that backend's CPU, so the sum only grows.
 */
export function postgresCpuSeconds(): number | undefined {
  if (!HAS_PROC) return undefined;
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statFields(entry);
    if (stat?.comm !== "postgres") continue;
    const f = stat.fields;
    ticks += Number(f[UTIME]) + Number(f[STIME]) + Number(f[CUTIME]) + Number(f[CSTIME]);
  }
  return ticks / CLK_TCK;
}

export interface Memory {
  rssBytes: number;
  /** The peak resident set size since the process started (VmHWM). */
  peakRssBytes: number;
}

export function processMemory(pid: number): Memory | undefined {
  if (!HAS_PROC) return undefined;
  const text = readText(`/proc/${pid}/status`);
  if (!text) return undefined;
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? Number.NaN) * 1024;
  return { rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM") };
}

/**
 * Resets the process's peak (VmHWM) to its current resident size: "5" written to
 * /proc/<pid>/clear_refs (proc(5), Linux 4.0+). Lets the peak under load be told from the peak of
 * start-up (the embedded store's first start, which creates the database, peaks far higher).
 */
export function resetPeakMemory(pid: number): boolean {
  if (!HAS_PROC) return false;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

export interface MachineCpu {
  busy: number;
  total: number;
}

/** Jiffies of the whole machine since boot: busy (everything but idle and iowait) and total. */
export function machineCpu(): MachineCpu | undefined {
  if (!HAS_PROC) return undefined;
  const line = readText("/proc/stat")?.split("\n", 1)[0];
  if (!line?.startsWith("cpu ")) return undefined;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** How many cores were busy between two samples (all processes of the machine). */
export function busyCores(before: MachineCpu | undefined, after: MachineCpu | undefined, cores: number): number | undefined {
  if (!before || !after || after.total === before.total) return undefined;
  return ((after.busy - before.busy) / (after.total - before.total)) * cores;
}
