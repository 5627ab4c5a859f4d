/** What the routes are handed: built once per app by the composition root (receiver.ts) or a test. */
import type { SigningKeys } from "../auth/signing-keys.ts";
import type { TokenVerifier } from "../auth/token-verifier.ts";
import type { ReceiverConfig } from "../config.ts";
import type { AcceptedNotification } from "../ledger/accept-notifications.ts";
import type { DeliveryTargets } from "../ledger/change-set.ts";
import type { GroupCommit } from "../ledger/group-commit.ts";
import type { PreparedNotification } from "../ledger/prepare-notification.ts";
import type { Metrics } from "../metrics.ts";
import type { Database } from "../store/database.ts";
import type { StoreStatus } from "../store/store-supervisor.ts";

export type Intake = Pick<GroupCommit<PreparedNotification, AcceptedNotification>, "submit" | "depth">;

export interface AppContext {
  config: ReceiverConfig;
  db: Database;
  /** Whether the store is open yet, and why not. */
  store: () => StoreStatus;
  keys: SigningKeys;
  verifier: TokenVerifier;
  metrics: Metrics;
  /** Accepted notifications go through the group commit, never straight to the store. */
  intake: Intake;
  targets: DeliveryTargets;
}
