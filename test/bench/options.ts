/** The bench's command line: what it accepts, its defaults, and one clear message per mistake. */
import { parseArgs } from "node:util";
import type { Store } from "./targets.ts";

export const USAGE = `usage: npm run bench -- [options]        (or: node test/bench/bench.ts [options])

  --quick                 smoke run: 2 s windows, 1 round, 20 connections, 500 alerts/s
  --duration S            seconds per measured window (default 10; fractions allowed)
  --rounds N              rounds of every measurement, targets in turn, order reversed each round (default 3)
  --connections LIST      closed-loop concurrency, comma-separated (default 20,64)
  --rates LIST            open-loop fixed rates in alerts/s, comma-separated (default 500,1000,2000)
  --stores LIST           receiver stores: pglite,postgres (default both)
  --no-alertmanager       leave Alertmanager out even when it is installed
  --no-floor              leave out each store's floor (the same durable commit with nothing else)
  --no-noise              leave out the noise comparison (each store with and without a realistic noise rule set)
  --scale                 also measure each store pre-loaded with --incidents incidents
  --incidents N           incidents for --scale (default 1000000)
  --soak N                instead: send N alerts (a realistic mix) to each store and report memory
  --ready-timeout S       how long a process may take to become ready (default 180)
  --help

PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) names a server
where the bench may CREATE and DROP its own database. Alertmanager: the prometheus-alertmanager
binary on PATH (Debian: apt-get install prometheus-alertmanager), or ALERTMANAGER_BIN.`;

export class UsageError extends Error {}

export interface Options {
  quick: boolean;
  /** Seconds per measured window. */
  duration: number;
  rounds: number;
  connections: number[];
  rates: number[];
  stores: Store[];
  alertmanager: boolean;
  /** Measure each store's floor: its durable commit of the bodies alone (floor-server.ts). */
  floor: boolean;
  /** Measure each store with and without a realistic noise rule set (noise-rules.ts). */
  noise: boolean;
  /** Incidents to preload for the scale comparison; undefined without --scale. */
  scale: number | undefined;
  /** Alerts per store in soak mode; undefined otherwise. */
  soak: number | undefined;
  /** Seconds. */
  readyTimeout: number;
}

export function parseOptions(argv: string[]): Options | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowNegative: true,
      options: {
        quick: { type: "boolean", default: false },
        duration: { type: "string" },
        rounds: { type: "string" },
        connections: { type: "string" },
        rates: { type: "string" },
        stores: { type: "string", default: "pglite,postgres" },
        alertmanager: { type: "boolean", default: true },
        floor: { type: "boolean", default: true },
        noise: { type: "boolean", default: true },
        scale: { type: "boolean", default: false },
        incidents: { type: "string", default: "1000000" },
        soak: { type: "string" },
        "ready-timeout": { type: "string", default: "180" },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.help) return "help";
  const positive = (name: string, raw: string, integer: boolean) => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new UsageError(`--${name} must be a positive ${integer ? "whole " : ""}number, got "${raw}"`);
    }
    return value;
  };
  const list = (name: string, raw: string) => raw.split(",").map((v) => positive(name, v.trim(), true));
  const quick = parsed.quick;
  const stores = parsed.stores.split(",").map((s) => s.trim());
  for (const store of stores) {
    if (store !== "pglite" && store !== "postgres") throw new UsageError(`--stores takes pglite and/or postgres, got "${store}"`);
  }
  return {
    quick,
    duration: positive("duration", parsed.duration ?? (quick ? "2" : "10"), false),
    rounds: positive("rounds", parsed.rounds ?? (quick ? "1" : "3"), true),
    connections: list("connections", parsed.connections ?? (quick ? "20" : "20,64")),
    rates: list("rates", parsed.rates ?? (quick ? "500" : "500,1000,2000")),
    stores: [...new Set(stores)] as Store[],
    alertmanager: parsed.alertmanager,
    floor: parsed.floor,
    noise: parsed.noise,
    scale: parsed.scale ? positive("incidents", parsed.incidents, true) : undefined,
    soak: parsed.soak === undefined ? undefined : positive("soak", parsed.soak, true),
    readyTimeout: positive("ready-timeout", parsed["ready-timeout"], false),
  };
}
