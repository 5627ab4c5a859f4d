/**
 * An action group's test notifications, as the heartbeat uses them (Azure/azure-rest-api-specs,
 * specification/monitor/resource-manager/Microsoft.Insights/stable/2023-01-01/actionGroups_API.json):
 * `ActionGroups_CreateNotificationsAtActionGroupResourceLevel` (POST …/createNotifications, a
 * long-running operation: 202 with a Location that is `…/notificationStatus/{notificationId}`) and
 * `ActionGroups_GetTestNotificationsAtActionGroupResourceLevel` (GET that Location: the
 * TestNotificationDetailsResponse, `state` and one `actionDetails` entry per receiver).
 */
import { ArmError, type ArmClient } from "./arm.ts";

export const ACTION_GROUPS_API_VERSION = "2023-01-01";
/** The receiver's name in the request; Azure reports its actionDetails under it. */
export const HEARTBEAT_RECEIVER_NAME = "secure-export-heartbeat";
/**
 * NotificationRequestBody.alertType is required; of its listed values, `logalertv2` makes Azure
 * send its Log Alerts V2 sample (the documented test payload kept in test/fixtures/azure-monitor).
 */
export const HEARTBEAT_ALERT_TYPE = "logalertv2";

export interface SecureWebhookTarget {
  serviceUri: string;
  /** The application's object id (not its client id): Azure's token is for it. */
  objectId: string;
  identifierUri: string;
  tenantId: string;
}

/** The NotificationRequestBody: one secure webhook receiver, nothing else. */
export function notificationRequest(target: SecureWebhookTarget): Record<string, unknown> {
  return {
    alertType: HEARTBEAT_ALERT_TYPE,
    webhookReceivers: [
      {
        name: HEARTBEAT_RECEIVER_NAME,
        serviceUri: target.serviceUri,
        useCommonAlertSchema: true,
        useAadAuth: true,
        objectId: target.objectId,
        identifierUri: target.identifierUri,
        tenantId: target.tenantId,
      },
    ],
  };
}

export interface SentNotification {
  /** The notificationStatus id from the Location (or Azure-AsyncOperation) header; null when ARM named none. */
  notificationId: string | null;
  /** Where to poll: that header as ARM sent it. */
  statusUrl: string | null;
}

const NOTIFICATION_ID = /\/notificationStatus\/([^/?#]+)/i;

export async function createNotifications(arm: ArmClient, actionGroupId: string, target: SecureWebhookTarget): Promise<SentNotification> {
  const answer = await arm.request({ method: "POST", path: `${actionGroupId}/createNotifications`, apiVersion: ACTION_GROUPS_API_VERSION, body: notificationRequest(target) });
  const statusUrl = answer.headers.get("location") ?? answer.headers.get("azure-asyncoperation");
  const notificationId = statusUrl ? (NOTIFICATION_ID.exec(new URL(statusUrl, arm.endpoint).pathname)?.[1] ?? null) : null;
  return { notificationId: notificationId ? decodeURIComponent(notificationId) : null, statusUrl };
}

export interface NotificationStatus {
  state: string;
  /** The heartbeat receiver's action detail (Status, SubState, Detail, SendTime…), when Azure listed it. */
  detail: Record<string, unknown> | null;
}

/** Reads Azure's verdict; null while the operation still answers 202 (in progress). */
export async function notificationStatus(arm: ArmClient, actionGroupId: string, notificationId: string): Promise<NotificationStatus | null> {
  const answer = await arm.request({ method: "GET", path: `${actionGroupId}/notificationStatus/${encodeURIComponent(notificationId)}`, apiVersion: ACTION_GROUPS_API_VERSION });
  if (answer.status === 202) return null;
  const body = answer.body as { state?: unknown; actionDetails?: unknown } | null;
  if (typeof body?.state !== "string") throw new ArmError(`notificationStatus ${notificationId} has no state`, { status: answer.status, armCode: null, retryable: true });
  const details = Array.isArray(body.actionDetails) ? (body.actionDetails as Array<Record<string, unknown>>) : [];
  // Azure's example names details by mechanism (`SecureWebhook-name`); ours by the receiver's name when it keeps it.
  const ours = details.find((d) => d.Name === HEARTBEAT_RECEIVER_NAME) ?? details.find((d) => d.MechanismType === "SecureWebhook") ?? null;
  return { state: body.state, detail: ours };
}
