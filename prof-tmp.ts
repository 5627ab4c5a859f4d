import { openPostgres } from "./receiver/src/store/postgres-database.ts";
import { migrate } from "./receiver/src/store/migrate.ts";
import { acceptNotifications } from "./receiver/src/ledger/accept-notifications.ts";
import { parseRoutingRules } from "./receiver/src/routing/load-rules.ts";
import { explain } from "./receiver/src/routing/explain.ts";
import { prepared } from "./test/support/ledger.ts";
import { uniqueAlerts } from "./test/bench/payloads.ts";
import { NOISE_COMPARISON } from "./test/bench/noise-rules.ts";
import { secretReader } from "./receiver/src/connectors/credentials.ts";
import { execSync } from "node:child_process";
const side = process.argv[2] as "routed" | "noise";
execSync(`psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS prof_${side}" -c "CREATE DATABASE prof_${side}"`);
const db = openPostgres({ connectionString: `postgres://postgres@127.0.0.1:5432/prof_${side}` });
await migrate(db);
const rules = parseRoutingRules(NOISE_COMPARISON[side].ROUTING_RULES, { variable: "R", environment: [], readSecret: secretReader({ BENCH_SNOW_PASSWORD: "x" }) });
const bodies = uniqueAlerts("x");
const targets = { connectors: ["snow"], maxAgeMs: 60000 };
const cpu0 = process.cpuUsage();
for (let b = 0; b < 100; b++) {
  const batch = Array.from({ length: 64 }, () => { const p = prepared(JSON.parse(bodies())); return { ...p, routing: explain(rules, p.alert, new Date()) }; });
  await acceptNotifications(db, batch, targets);
}
const cpu = process.cpuUsage(cpu0);
console.log(side, "JS CPU µs per alert", Math.round((cpu.user + cpu.system) / 6400));
await db.close();
execSync(`psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS prof_${side}"`);
