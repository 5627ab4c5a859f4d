/**
 * `GET /api/status` (reader): the receiver's state in one answer (http/status-report.ts). It
 * answers 200 while the store is down, saying so, since that is when it is wanted most.
 */
import { readFileSync } from "node:fs";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { WatchedCredential } from "../../connectors/credential-expiry.ts";
import type { RoutingRules } from "../../routing/load-rules.ts";
import type { Database } from "../../store/database.ts";
import { connectorOutcomes } from "../../store/delivery-queries.ts";
import { activeSilences } from "../../store/noise.ts";
import type { StoreStatus } from "../../store/store-supervisor.ts";
import { responses } from "../route-responses.ts";
import { assembleStatus, type ConnectorCheckSeen, type HeartbeatStatus } from "../status-report.ts";

/** The receiver's own version (receiver/package.json, which the image ships). */
export const RECEIVER_VERSION: string = (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** What the status reads besides the store: handed over by receiver.ts (or a test). */
export interface StatusDeps {
  storeKind: "postgresql" | "embedded";
  credentials: { watched: readonly WatchedCredential[]; warnDays: number };
  /** What this replica's start-up check of each connector found. */
  checks: ReadonlyMap<string, ConnectorCheckSeen>;
  /** Reads the heartbeat's record; null when the heartbeat is off. */
  heartbeat: (() => Promise<HeartbeatStatus>) | null;
}

const Nullable = <T extends ReturnType<typeof Type.String | typeof Type.Integer>>(schema: T) => Type.Union([schema, Type.Null()]);
const Timestamp = Type.String({ format: "date-time" });

const StatusBody = Type.Object({
  version: Type.String(),
  checkedAt: Timestamp,
  healthy: Type.Boolean({ description: "false when anything needs a person; problems says what" }),
  problems: Type.Array(Type.String()),
  store: Type.Object({ kind: Type.Enum(["postgresql", "embedded"]), reachable: Type.Boolean(), detail: Nullable(Type.String()) }),
  connectors: Type.Array(
    Type.Object({
      name: Type.String(),
      kind: Type.String(),
      state: Type.Enum(["ok", "failing", "unauthorized", "idle", "unknown"], {
        description: "ok: its latest delivery succeeded; failing: its latest failed; unauthorized: its latest failed with 401 or 403, or (before any delivery did) this replica's start-up check was refused; idle: nothing delivered yet; unknown: the store cannot be read",
      }),
      detail: Type.String(),
      lastSuccessAt: Nullable(Timestamp),
      lastFailureAt: Nullable(Timestamp),
      lastFailure: Nullable(Type.String()),
      queueDepth: Nullable(Type.Integer()),
      deadLetters: Nullable(Type.Integer()),
      unauthorized: Nullable(Type.String({ description: "what the tool said refusing the credentials or access, while that is its latest word" })),
    }),
  ),
  heartbeat: Type.Union([
    Type.Object({ enabled: Type.Literal(false) }),
    Type.Object({ enabled: Type.Literal(true), known: Type.Literal(false), detail: Type.String({ description: "why its record cannot be read (the store)" }) }),
    Type.Object({
      enabled: Type.Literal(true),
      known: Type.Literal(true),
      lastSentAt: Nullable(Timestamp),
      lastReceivedAt: Nullable(Timestamp),
      lastSendError: Nullable(Type.String({ description: "why the last request to Azure (createNotifications) failed, when it did" })),
      verdict: Nullable(Type.String({ description: "Azure's verdict on the last test notification (notificationStatus state)" })),
      missingSince: Nullable(Timestamp),
      healthy: Type.Boolean(),
    }),
  ]),
  credentials: Type.Object({
    warnDays: Type.Integer(),
    items: Type.Array(
      Type.Object({
        connector: Type.String(),
        credential: Type.String({ description: "password or client secret" }),
        expiresAt: Nullable(Timestamp),
        daysLeft: Nullable(Type.Integer()),
        state: Type.Enum(["ok", "warning", "expired", "unknown"], { description: "unknown: no credentialExpiresAt set" }),
      }),
    ),
  }),
  rules: Type.Object({
    inEffect: Type.Boolean(),
    admissionRules: Type.Integer(),
    routes: Type.Integer(),
    maintenanceWindows: Type.Integer(),
    noiseRules: Type.Integer(),
    stormGuards: Type.Integer(),
    silencesInForce: Nullable(Type.Integer()),
  }),
});

export const statusRoutes: FastifyPluginAsyncTypebox<{ db: Database; store: () => StoreStatus; routing: RoutingRules; status: StatusDeps }> = async (app, { db, store, routing, status }) => {
  app.get(
    "",
    { config: { access: "reader" }, schema: { summary: "The receiver's status: store, connectors, heartbeat, credential expiry, rules", tags: ["status"], security: [{ bearer: [] }], response: responses({ 200: StatusBody }, []) } },
    async (request) => {
      const now = new Date();
      const opened = store();
      let reachable = opened.state === "ready";
      let detail = reachable ? null : (opened.detail ?? `the store is ${opened.state}`);
      const read = async <T,>(query: () => Promise<T>): Promise<T | null> => {
        if (!reachable) return null;
        try {
          return await query();
        } catch (error) {
          request.log.warn({ err: error }, "status: the store cannot be read");
          reachable = false;
          detail = (error as Error).message;
          return null;
        }
      };
      const outcomes = await read(() => connectorOutcomes(db, routing.connectors.map((c) => c.name)));
      const silences = await read(() => activeSilences(db, now.toISOString()));
      // The rest of the status is worth having when the heartbeat cannot be read; it is on, so it is unknown, not off.
      const readHeartbeat = status.heartbeat;
      const heartbeat: HeartbeatStatus = !readHeartbeat
        ? { enabled: false }
        : !reachable
          ? { enabled: true, known: false, detail: "the store cannot be read" }
          : await readHeartbeat().catch((error: unknown): HeartbeatStatus => {
              request.log.warn({ err: error }, "status: the heartbeat cannot be read");
              return { enabled: true, known: false, detail: (error as Error).message };
            });
      return assembleStatus(
        {
          version: RECEIVER_VERSION,
          store: { kind: status.storeKind, reachable, detail },
          connectors: routing.connectors.map((c) => ({ name: c.name, kind: c.config.kind })),
          outcomes,
          checks: status.checks,
          credentials: status.credentials,
          heartbeat,
          rules: routing,
          silencesInForce: silences?.length ?? null,
        },
        now,
      );
    },
  );
};
