/**
 * A fresh HTTP app for one test, with stand-ins for everything behind it: no store, no token
 * issuer, no socket (`app.inject`). For the answers the HTTP layer decides by itself — statuses,
 * validation, who may call what — which then need no I/O at all.
 */
import type { FastifyInstance } from "fastify";
import { afterEach } from "vitest";
import type { AccessRule, AuthOutcome } from "../../receiver/src/auth/token-verifier.ts";
import type { Principal } from "../../receiver/src/auth/token-rules.ts";
import { buildApp } from "../../receiver/src/http/app.ts";
import type { AppDeps, Intake } from "../../receiver/src/http/context.ts";
import type { AcceptedNotification } from "../../receiver/src/ledger/accept-notifications.ts";
import type { PreparedNotification } from "../../receiver/src/ledger/prepare-notification.ts";
import { createMetrics } from "../../receiver/src/metrics.ts";
import { noRoutingRules } from "../../receiver/src/routing/load-rules.ts";
import type { Database, Transaction } from "../../receiver/src/store/database.ts";

export const ROLES = { webhook: "ActionGroupsSecureWebhook", reader: "Incidents.Read", operator: "Incidents.Operate", sync: "Itsm.Sync" } as const;

/**
 * Tokens for the stand-in verifier: a role's name is a token carrying that role; `expired` is
 * refused with 401, `keys-down` with 503 (the signing keys cannot be had).
 */
export function stubVerifier() {
  return {
    async verify(authorization: string | undefined, rule: AccessRule): Promise<AuthOutcome> {
      const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
      if (!token) return { ok: false, status: 401, reason: "no bearer token" };
      if (token === "keys-down") return { ok: false, status: 503, reason: "signing keys cannot be fetched" };
      const role = ROLES[token as keyof typeof ROLES];
      if (!role) return { ok: false, status: 401, reason: "token is expired" };
      if (role !== rule.role) return { ok: false, status: 403, reason: `token lacks role ${rule.role}` };
      const principal: Principal = { tenantId: "t", objectId: `${token}-object`, callerId: `${token}-app`, name: `${token[0]!.toUpperCase()}${token.slice(1)} Person`, tokenVersion: "2.0", roles: [role] };
      if (rule.allowedCallers && !rule.allowedCallers.includes(principal.callerId)) return { ok: false, status: 403, reason: `caller ${principal.callerId} is not an allowed caller` };
      return { ok: true, principal };
    },
  };
}

/** A store that answers every query with no rows, and remembers what it was asked. */
export function stubDatabase(answer: (sql: string, params: readonly unknown[]) => unknown[] = () => []) {
  const queries: Array<{ sql: string; params: readonly unknown[] }> = [];
  const query = async <Row,>(sql: string, params: readonly unknown[] = []) => {
    queries.push({ sql, params });
    return { rows: answer(sql, params) as Row[] };
  };
  const tx: Transaction = { query, exec: async () => undefined, later: (sql, params = []) => void queries.push({ sql, params }) };
  const db: Database = { query, exec: async () => undefined, transaction: (work) => work(tx), close: async () => undefined };
  return { db, queries };
}

/** An intake that stores nothing and answers what `answer` says (accepted, by default). */
export function stubIntake(answer: (n: PreparedNotification) => Promise<AcceptedNotification> | AcceptedNotification = () => ({ admitted: true, notificationId: "1", duplicate: false, incidentId: "00000000-0000-4000-8000-000000000001", family: "metric", events: [] })): Intake & { submitted: PreparedNotification[] } {
  const submitted: PreparedNotification[] = [];
  return {
    submitted,
    depth: 0,
    async submit(n) {
      submitted.push(n);
      return answer(n);
    },
  };
}

const open: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

/** A new app per call, closed after the test. */
export async function testApp(overrides: Partial<AppDeps> = {}): Promise<FastifyInstance> {
  const deps: AppDeps = {
    http: { bodyLimitBytes: 65_536, requestTimeoutMs: 30_000, trustedProxyHops: 0 },
    db: stubDatabase().db,
    store: () => ({ state: "ready", detail: null }),
    keys: { loaded: true },
    verifier: stubVerifier(),
    access: { webhook: { role: ROLES.webhook }, reader: { role: ROLES.reader }, operator: { role: ROLES.operator }, sync: { role: ROLES.sync, appOnly: true } },
    metrics: createMetrics(),
    intake: stubIntake(),
    targets: { connectors: [], maxAgeMs: 86_400_000 },
    routing: noRoutingRules([]),
    sync: new Map(),
    status: { storeKind: "postgresql", credentials: { watched: [], warnDays: 14 }, checks: new Map(), heartbeat: null },
    console: { authority: "https://login.example", tenantId: "t", issuer: "https://login.example/t/v2.0", clientId: null, appIdUri: null, scope: null, roles: { reader: ROLES.reader, operator: ROLES.operator } },
    ...overrides,
  };
  const app = await buildApp(deps);
  open.push(app);
  return app;
}
