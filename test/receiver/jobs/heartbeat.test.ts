/**
 * The heartbeat job with a clock the test moves: a createNotifications Azure refuses (the role is
 * missing) is recorded and counts as missed; two missed raise the receiver's own alert once, with
 * the refusal in its facts; a heartbeat that arrives resolves it once.
 */
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { armClient } from "../../../receiver/src/azure/arm.ts";
import { managedIdentityToken } from "../../../receiver/src/azure/managed-identity.ts";
import type { HeartbeatConfig } from "../../../receiver/src/azure/heartbeat-config.ts";
import { heartbeatOnce } from "../../../receiver/src/jobs/heartbeat.ts";
import type { AcceptedNotification } from "../../../receiver/src/ledger/accept-notifications.ts";
import { resolveHeartbeatMissing } from "../../../receiver/src/ledger/heartbeat.ts";
import type { PreparedNotification } from "../../../receiver/src/ledger/prepare-notification.ts";
import { createMetrics } from "../../../receiver/src/metrics.ts";
import { noRoutingRules } from "../../../receiver/src/routing/load-rules.ts";
import { claimHeartbeat, heartbeatStatus } from "../../../receiver/src/store/heartbeats.ts";
import { startArmFake, type ArmFake } from "../../fakes/arm-fake.ts";
import { startManagedIdentityFake, type ManagedIdentityFake } from "../../fakes/managed-identity-fake.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

const SUB = "0b1f6c2a-1111-4222-8333-444455556666";
const MIN = 60_000;
const config: HeartbeatConfig = {
  intervalMs: 15 * MIN,
  actionGroupId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Insights/actionGroups/secure-export`,
  // Nothing listens there: only what the job records matters here.
  publicUrl: "http://127.0.0.1:9",
  appObjectId: "0bec7a11-5e1e-4c7e-8000-00000000a99e",
  identifierUri: "api://secure-export",
  tenantId: "5e1ec7ed-0000-4000-8000-00000000c0de",
};

let store: OpenStore;
let arm: ArmFake;
let identity: ManagedIdentityFake;
beforeAll(async () => {
  [store, arm, identity] = await Promise.all([STORE_KINDS[0]!.open(), startArmFake({ webhookToken: async () => "t" }), startManagedIdentityFake()]);
  arm.ownApplication(config.appObjectId);
});
afterAll(async () => {
  await Promise.all([arm?.close(), identity?.close()]);
  await store?.close();
});

describe("the heartbeat job", () => {
  it("a refused createNotifications is recorded, two of them fire the missing alert once with the refusal, an arrival resolves it once", async () => {
    const submitted: PreparedNotification[] = [];
    const intake = {
      async submit(n: PreparedNotification): Promise<AcceptedNotification> {
        submitted.push(n);
        return { admitted: true, notificationId: "n", duplicate: false, incidentId: "i", family: n.alert.family, events: [] };
      },
    };
    const token = managedIdentityToken({ resource: arm.url, purpose: "ARM", code: "ARM_TOKEN_UNAVAILABLE", clientId: identity.clientId, env: { IDENTITY_ENDPOINT: identity.identityEndpoint, IDENTITY_HEADER: identity.identityHeader } });
    const metrics = createMetrics();
    let clock = new Date("2026-12-06T10:00:00Z");
    const run = () => heartbeatOnce({ db: store.db, arm: armClient({ endpoint: arm.url, token }), intake, routing: noRoutingRules([]), config, metrics, log: pino({ level: "silent" }), now: () => clock });
    const later = (minutes: number) => (clock = new Date(clock.getTime() + minutes * MIN));

    arm.forbid(SUB);
    await run(); // 10:00, refused
    expect(await heartbeatStatus(store.db)).toMatchObject({ lastSentAt: "2026-12-06T10:00:00.000Z", lastSendError: expect.stringContaining("403 AuthorizationFailed"), lastReceivedAt: null, missingSince: null });
    later(15);
    await run(); // 10:15: one missed, refused again
    expect(submitted).toEqual([]);
    later(15);
    await run(); // 10:30: two missed → fired, since 10:00
    later(15);
    await run(); // 10:45: still missing, not fired again
    expect(submitted.map((n) => n.alert.monitorCondition)).toEqual(["Fired"]);
    expect(submitted[0]!.alert).toMatchObject({ alertId: "secure-export/heartbeat-missing", alertRule: "secure-export heartbeat missing", firedAt: "2026-12-06T10:00:00.000Z" });
    expect(submitted[0]!.alert.customProperties).toMatchObject({ lastError: expect.stringContaining("AuthorizationFailed") });
    expect((await heartbeatStatus(store.db)).missingSince).toBe("2026-12-06T10:00:00.000Z");
    expect((await metrics.registry.getSingleMetricAsString("secure_export_heartbeats_total"))).toContain('outcome="send_failed"} 4');

    arm.allow(SUB);
    later(15);
    await run(); // 11:00: accepted by Azure
    const nonce = new URL(arm.testNotifications.at(-1)!.request.webhookReceivers![0]!.serviceUri as string).searchParams.get("heartbeat")!;
    const alerting = { db: store.db, intake, routing: noRoutingRules([]), actionGroupId: config.actionGroupId, intervalMs: config.intervalMs };
    const arrivals = await Promise.all([claimHeartbeat(store.db, nonce, "azureMonitorCommonAlertSchema/Log Alerts V2", clock), claimHeartbeat(store.db, nonce, "x", clock)]);
    expect(arrivals.sort()).toEqual(["received", "used"]);
    // The intake cannot take the "Resolved" now: the alert stays fired, for the next try.
    const busy = { submit: () => Promise.reject(new Error("intake busy")) };
    await expect(resolveHeartbeatMissing({ ...alerting, intake: busy }, clock)).rejects.toThrow("intake busy");
    expect((await heartbeatStatus(store.db)).missingSince).toBe("2026-12-06T10:00:00.000Z");
    // Two replicas resolving at once: one "Resolved".
    const resolvedBy = await Promise.all([resolveHeartbeatMissing(alerting, clock), resolveHeartbeatMissing(alerting, clock)]);
    expect(resolvedBy.sort()).toEqual([false, true]);
    expect(submitted.map((n) => n.alert.monitorCondition)).toEqual(["Fired", "Resolved"]);
    expect(submitted[1]!.alert).toMatchObject({ firedAt: "2026-12-06T10:00:00.000Z", resolvedAt: "2026-12-06T11:00:00.000Z" });
    later(15);
    await run(); // 11:15: nothing more to say
    expect(submitted).toHaveLength(2);
    expect(await heartbeatStatus(store.db)).toMatchObject({ lastReceivedAt: "2026-12-06T11:00:00.000Z", lastSendError: null, missingSince: null });
  });
});
