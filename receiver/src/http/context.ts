/**
 * What the HTTP layer is handed, built once per app by the composition root (receiver.ts) or a
 * test: each route plugin takes from it only what it uses, and nothing reads the whole
 * configuration.
 */
import type { SigningKeys } from "../auth/signing-keys.ts";
import type { TicketSync } from "../connectors/tickets.ts";
import type { AccessRule, AuthOutcome } from "../auth/token-verifier.ts";
import type { AcceptedNotification } from "../ledger/accept-notifications.ts";
import type { DeliveryTargets } from "../ledger/change-set.ts";
import type { GroupCommit } from "../ledger/group-commit.ts";
import type { PreparedNotification } from "../ledger/prepare-notification.ts";
import type { Metrics } from "../metrics.ts";
import type { RoutingRules } from "../routing/load-rules.ts";
import type { Database } from "../store/database.ts";
import type { StoreStatus } from "../store/store-supervisor.ts";
import type { ConsoleConfig } from "./routes/console.ts";
import type { StatusDeps } from "./routes/status.ts";

export type Intake = Pick<GroupCommit<PreparedNotification, AcceptedNotification>, "submit" | "depth">;

/** Who may call a route: Azure's secure webhook, a reader, an operator, or an ITSM's sync client. */
export type Access = "webhook" | "reader" | "operator" | "sync";

/** A connector that takes ticket events: which client applications may push them, and how its tickets are read back. */
export interface SyncConnector {
  name: string;
  /** Lower-cased application (client) ids (the connector's `syncClients`). */
  syncClients: readonly string[];
  /** Null for a connector whose tool keeps no tickets (ServiceNow event mode). */
  tickets: TicketSync | null;
}

/** Checks a bearer token against one rule (auth/token-verifier.ts's TokenVerifier, or a stand-in in tests). */
export interface Verifier {
  verify(authorization: string | undefined, rule: AccessRule): Promise<AuthOutcome>;
}

/** The HTTP server's own limits. */
export interface HttpSettings {
  bodyLimitBytes: number;
  /** A request (headers and body) must arrive within this; a stalled upload is cut with 408. */
  requestTimeoutMs: number;
  /** Proxies in front that append X-Forwarded-For (1 behind Container Apps' ingress). */
  trustedProxyHops: number;
  /**
   * A request's work starts after the I/O the event loop has ready at that moment (set with
   * PostgreSQL). Node runs every ready socket's callback in one turn, and a request's checks,
   * parsing, preparation and routing ran in its socket's callback: the database's answers to the
   * intake batch in flight, ready in the same turn, waited behind every request that arrived with
   * them — requests that can only join the next batch anyway. Deferred, one per turn, they follow
   * the batch's next step instead of delaying it. Not with the embedded store, whose answers are not
   * I/O: there it only made batches smaller (docs/performance.md).
   */
  yieldToIo?: boolean;
}

export interface AppDeps {
  http: HttpSettings;
  db: Database;
  /** Whether the store is open yet, and why not. */
  store: () => StoreStatus;
  keys: Pick<SigningKeys, "loaded">;
  verifier: Verifier;
  /** What each kind of caller must present. */
  access: Readonly<Record<Access, AccessRule>>;
  metrics: Metrics;
  /** Accepted notifications go through the group commit, never straight to the store. */
  intake: Intake;
  targets: DeliveryTargets;
  routing: RoutingRules;
  console: ConsoleConfig;
  /** Every connector, by name, as the ITSM events route sees it. */
  sync: ReadonlyMap<string, SyncConnector>;
  /** What `GET /api/status` reads besides the store and the rules. */
  status: StatusDeps;
  /** The heartbeat, when on here: a heartbeat that arrives resolves its missing alert through the intake. */
  heartbeat?: { actionGroupId: string; intervalMs: number } | null;
}
