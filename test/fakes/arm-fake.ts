/**
 * An Azure Resource Manager stand-in for the alert APIs the receiver calls, on loopback. Every
 * request is checked against the published specifications kept in
 * test/fixtures/azure-rest-api-specs/ (their source is named there): the path must be an
 * operation of the spec, the api-version that spec's version, the query parameters those it
 * declares (required ones present, enums respected), and the body its declared schema — so a wrong
 * path, a missing newState or `{"comment": …}` for `{"comments": …}` fails as a 400. It is
 * stricter than ARM in one way, on purpose: a body property the schema does not declare is refused.
 *
 * Beyond the contract it keeps alerts (user response and monitor condition, what changed them and
 * the comments), answers Resource Graph's `alertsmanagementresources` queries over them, applies
 * Resource Graph's quota (15 queries per 5 seconds, with its x-ms-user-quota-* headers and 429),
 * checks the bearer token's audience, and can be told to refuse a subscription (403
 * AuthorizationFailed) or to fail the next requests (429 with Retry-After, 503).
 *
 * An action group's test notifications (the heartbeat): createNotifications answers 202 with a
 * Location naming `…/notificationStatus/{id}`, then does what Azure does for each secure webhook
 * receiver in the request — POSTs the documented test payload (Log Alerts V2, common schema) to its
 * serviceUri with a token for its identifierUri and tenantId — and notificationStatus reports how
 * that went. Azure's own checks beyond the spec are applied too: a secure webhook needs objectId,
 * identifierUri and tenantId, and its application must be owned by the caller
 * (AadWebhookResourceNotOwnedByCaller). It can be told to stop delivering (a broken path).
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

interface Parameter {
  name?: string;
  in?: string;
  required?: boolean;
  type?: string;
  enum?: string[];
  schema?: Schema;
  $ref?: string;
}
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: string[];
  maxLength?: number;
  description?: string;
  minimum?: number;
  maximum?: number;
  $ref?: string;
}
interface Operation {
  operationId: string;
  parameters: Parameter[];
}
interface SpecFile {
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  definitions?: Record<string, Schema>;
}

const FIXTURES = new URL("../fixtures/azure-rest-api-specs/", import.meta.url);
const load = (name: string) => JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8")) as SpecFile;
export const SPECS: readonly SpecFile[] = [
  load("alertsmanagement-2019-03-01.json"),
  load("alertsmanagement-2025-05-25-preview.json"),
  load("resourcegraph-2024-04-01.json"),
  load("actiongroups-2023-01-01.json"),
];
/** The test payload Azure posts for alertType `logalertv2` (test/fixtures/azure-monitor/README.md). */
const TEST_PAYLOAD = readFileSync(new URL("../fixtures/azure-monitor/test-action/logalertsv2.json", import.meta.url), "utf8");
/** NotificationRequestBody.alertType's supported values, as its description lists them. */
const ALERT_TYPES = /Supported alert type values are: (.+)$/.exec(SPECS[3]!.definitions!.NotificationRequestBody!.properties!.alertType!.description!)![1]!.split(", ");
/** The REST reference lists a `comments` body for the 2019-03-01 change-state too; the 2025-05-25-preview spec defines it. */
const CHANGE_STATE_BODY: Schema = SPECS[1]!.definitions!.Comments!;

/** The common-types ApiVersionParameter every operation takes. */
const isApiVersionRef = (p: Parameter) => typeof p.$ref === "string" && p.$ref.endsWith("#/parameters/ApiVersionParameter");

function templateRegex(template: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part === "{scope}" ? "(.+)" : /^\{[^}]+\}$/.test(part) ? "([^/]+)" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  // ARM paths are case-insensitive.
  return new RegExp(`^${source}$`, "i");
}

interface Match {
  spec: SpecFile;
  template: string;
  operation: Operation;
  params: Record<string, string>;
}

function matchOperations(method: string, path: string): Match[] {
  const found: Match[] = [];
  for (const spec of SPECS) {
    for (const [template, operations] of Object.entries(spec.paths)) {
      const operation = operations[method.toLowerCase()];
      if (!operation) continue;
      const m = templateRegex(template).exec(path);
      if (!m) continue;
      const names = [...template.matchAll(/\{([^}]+)\}/g)].map((x) => x[1]!);
      found.push({ spec, template, operation, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])) });
    }
  }
  return found;
}

function resolve(spec: SpecFile, schema: Schema): Schema {
  if (!schema.$ref) return schema;
  const name = /^#\/definitions\/(.+)$/.exec(schema.$ref)?.[1];
  const target = name ? spec.definitions?.[name] : undefined;
  if (!target) throw new Error(`the fixture cannot resolve ${schema.$ref}`);
  return resolve(spec, target);
}

/** The first way `value` breaks `schema`, as a path and a reason; null when it fits. */
export function schemaProblem(spec: SpecFile, schemaIn: Schema, value: unknown, at = "body"): string | null {
  const schema = resolve(spec, schemaIn);
  if (schema.enum && !schema.enum.includes(value as string)) return `${at} must be one of ${schema.enum.join(", ")}`;
  switch (schema.type) {
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return `${at} must be an object`;
      const properties = schema.properties ?? {};
      for (const name of schema.required ?? []) if (!(name in value)) return `${at}.${name} is required`;
      for (const [name, item] of Object.entries(value)) {
        const declared = properties[name];
        if (!declared) return `${at}.${name} is not a property of the request (declared: ${Object.keys(properties).join(", ") || "none"})`;
        const problem = schemaProblem(spec, declared, item, `${at}.${name}`);
        if (problem) return problem;
      }
      return null;
    }
    case "array":
      if (!Array.isArray(value)) return `${at} must be an array`;
      for (const [i, item] of value.entries()) {
        const problem = schema.items ? schemaProblem(spec, schema.items, item, `${at}[${i}]`) : null;
        if (problem) return problem;
      }
      return null;
    case "string":
      if (typeof value !== "string") return `${at} must be a string`;
      return schema.maxLength !== undefined && value.length > schema.maxLength ? `${at} must be at most ${schema.maxLength} characters` : null;
    case "integer":
      if (!Number.isInteger(value)) return `${at} must be an integer`;
      if (schema.minimum !== undefined && (value as number) < schema.minimum) return `${at} must be at least ${schema.minimum}`;
      if (schema.maximum !== undefined && (value as number) > schema.maximum) return `${at} must be at most ${schema.maximum}`;
      return null;
    case "boolean":
      return typeof value === "boolean" ? null : `${at} must be a boolean`;
    default:
      return null;
  }
}

export interface FakeAlert {
  id: string;
  monitorCondition: "Fired" | "Resolved";
  alertState: "New" | "Acknowledged" | "Closed";
  lastModifiedDateTime: string;
  lastModifiedUserName: string;
  /** Every change of its user response, in order. */
  changes: Array<{ newState: string; comments: string | null; apiVersion: string }>;
}

export interface ArmRequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
}

/** One createNotifications, and what became of each secure webhook it posted to. */
export interface FakeTestNotification {
  id: string;
  actionGroupId: string;
  request: { alertType: string; webhookReceivers?: Array<Record<string, unknown>> };
  createdTime: string;
  completedTime: string | null;
  /** Per webhook receiver: the HTTP status our POST got (null: not delivered), and what Azure says of it. */
  actions: Array<{ name: string; serviceUri: string; status: number | null; detail: string | null; sendTime: string | null }>;
}

export interface ArmFake {
  /** AZURE_RESOURCE_MANAGER_ENDPOINT (and the token resource it expects). */
  url: string;
  requests: ArmRequestRecord[];
  addAlert(alertId: string, state?: Partial<Pick<FakeAlert, "monitorCondition" | "alertState">>): void;
  /** Azure resolves the alert's monitor condition (the notification of it may be lost). */
  resolveAlert(alertId: string): void;
  alert(alertId: string): FakeAlert | undefined;
  /** Requests on this subscription answer 403 AuthorizationFailed. */
  forbid(subscriptionId: string): void;
  allow(subscriptionId: string): void;
  /** The next `count` requests answer `status` (429 carries Retry-After: `retryAfterSeconds`). */
  failNext(count: number, status: 429 | 500 | 503, retryAfterSeconds?: number): void;
  /** Test notifications asked for, in order. */
  testNotifications: FakeTestNotification[];
  /** false: createNotifications still answers 202, but nothing is posted (a broken path); its status says Failed. */
  deliverTestNotifications(on: boolean): void;
  /** Application object ids the caller owns (Azure requires it of a secure webhook's application). */
  ownApplication(objectId: string): void;
  close(): Promise<void>;
}

/** Resource Graph's documented quota: 15 queries per 5-second window per user. */
const GRAPH_QUOTA = 15;
const GRAPH_WINDOW_MS = 5000;

export interface ArmFakeOptions {
  now?: () => number;
  /** An Entra token as Azure Monitor's secure webhook gets one: for the receiver's identifierUri, in its tenant. */
  webhookToken?: (target: { audience: string; tenantId: string }) => Promise<string>;
}

export async function startArmFake(options: ArmFakeOptions = {}): Promise<ArmFake> {
  const now = options.now ?? Date.now;
  const testNotifications: FakeTestNotification[] = [];
  const ownedApplications = new Set<string>();
  let deliver = true;
  let nextNotificationId = 11_000_222_191_287;
  const alerts = new Map<string, FakeAlert>();
  const forbidden = new Set<string>();
  const requests: ArmRequestRecord[] = [];
  let failures: { count: number; status: number; retryAfter: number } = { count: 0, status: 503, retryAfter: 0 };
  let graphWindow = { start: 0, used: 0 };
  let url = "";

  const send = (res: ServerResponse, record: ArmRequestRecord, status: number, body: unknown, headers: Record<string, string> = {}) => {
    record.status = status;
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, record: ArmRequestRecord, status: number, code: string, message: string, headers: Record<string, string> = {}) =>
    send(res, record, status, { error: { code, message } }, headers);

  const alertBody = (a: FakeAlert) => ({
    id: a.id,
    type: "Microsoft.AlertsManagement/alerts",
    name: a.id.split("/").pop(),
    properties: { essentials: { alertState: a.alertState, monitorCondition: a.monitorCondition, lastModifiedDateTime: a.lastModifiedDateTime, lastModifiedUserName: a.lastModifiedUserName } },
  });

  function subscriptionsOf(path: string, body: unknown): string[] {
    const fromPath = /^\/subscriptions\/([^/]+)/i.exec(path)?.[1];
    const fromBody = (body as { subscriptions?: unknown } | null)?.subscriptions;
    return [...(fromPath ? [fromPath] : []), ...(Array.isArray(fromBody) ? fromBody.map(String) : [])].map((s) => s.toLowerCase());
  }

  /** `alertsmanagementresources | where id in~ ('…', …) | project …`: the one query form the receiver sends. */
  function runGraphQuery(query: string, subscriptions: readonly string[]): unknown[] | string {
    if (!/^\s*alertsmanagementresources\b/i.test(query)) return "only alertsmanagementresources queries are answered here";
    const list = /\|\s*where\s+id\s+in~\s*\(([^)]*)\)/i.exec(query)?.[1];
    if (list === undefined) return "the query must filter with `where id in~ (...)`";
    const ids = [...list.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1]!.replace(/\\(.)/g, "$1").toLowerCase());
    return ids.flatMap((id) => {
      const a = alerts.get(id);
      const sub = /^\/subscriptions\/([^/]+)/i.exec(id)?.[1]?.toLowerCase();
      if (!a || (subscriptions.length > 0 && (!sub || !subscriptions.includes(sub)))) return [];
      // Resource Graph writes resource ids in lower case.
      return [{ id: a.id.toLowerCase(), monitorCondition: a.monitorCondition, alertState: a.alertState, lastModifiedDateTime: a.lastModifiedDateTime, lastModifiedUserName: a.lastModifiedUserName }];
    });
  }

  /** What Azure does after accepting a test: one POST per webhook receiver, then the verdict. */
  async function postTestPayloads(notification: FakeTestNotification): Promise<void> {
    for (const [i, action] of notification.actions.entries()) {
      const receiver = notification.request.webhookReceivers![i]!;
      action.sendTime = new Date(now()).toISOString();
      if (!deliver) {
        action.detail = "The webhook could not be reached (injected).";
        continue;
      }
      try {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (receiver.useAadAuth === true) {
          if (!options.webhookToken) throw new Error("the ARM stand-in was started without webhookToken");
          headers.authorization = `Bearer ${await options.webhookToken({ audience: String(receiver.identifierUri), tenantId: String(receiver.tenantId) })}`;
        }
        const answer = await fetch(action.serviceUri, { method: "POST", headers, body: TEST_PAYLOAD, signal: AbortSignal.timeout(10_000) });
        action.status = answer.status;
        action.detail = answer.ok ? null : `The webhook answered ${answer.status}: ${(await answer.text()).slice(0, 200)}`;
      } catch (e) {
        action.detail = `The webhook could not be reached: ${(e as Error).message}`;
      }
    }
    notification.completedTime = new Date(now()).toISOString();
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const target = new URL(req.url ?? "/", "http://localhost");
      const query = Object.fromEntries(target.searchParams);
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = undefined;
      const record: ArmRequestRecord = { method: req.method ?? "", path: target.pathname, query, body: undefined, status: 0 };
      requests.push(record);
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          return error(res, record, 400, "InvalidRequestContent", "The request content is not valid JSON.");
        }
      }
      record.body = body;

      // Authentication: a bearer token issued for this endpoint (the managed-identity stand-in names its resource).
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      if (!token) return error(res, record, 401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
      if (!token.endsWith(`-for-${url}`) && !token.endsWith(`-for-${url}/`)) return error(res, record, 401, "InvalidAuthenticationToken", "The access token has been obtained for wrong audience or resource.");

      // The contract: an operation of the specs, its api-version, its query parameters, its body.
      const matches = matchOperations(req.method ?? "GET", target.pathname);
      if (matches.length === 0) return error(res, record, 404, "InvalidResourceType", `No operation of the Alerts Management, Resource Graph or Action Groups specifications matches ${req.method} ${target.pathname}.`);
      const apiVersion = query["api-version"];
      if (!apiVersion) return error(res, record, 400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
      const match = matches.find((m) => m.spec.info.version === apiVersion);
      if (!match) {
        return error(res, record, 400, "InvalidApiVersionParameter", `The api-version '${apiVersion}' is invalid. The supported versions are '${matches.map((m) => m.spec.info.version).join(",")}'.`);
      }
      const declared = match.operation.parameters.filter((p) => !isApiVersionRef(p));
      for (const name of Object.keys(query)) {
        if (name !== "api-version" && !declared.some((p) => p.in === "query" && p.name === name)) return error(res, record, 400, "InvalidQueryParameter", `Query parameter '${name}' is not a parameter of ${match.operation.operationId}.`);
      }
      for (const p of declared.filter((x) => x.in === "query")) {
        const value = query[p.name!];
        if (value === undefined && p.required) return error(res, record, 400, "MissingQueryParameter", `The query parameter '${p.name}' of ${match.operation.operationId} is required.`);
        if (value !== undefined && p.enum && !p.enum.includes(value)) return error(res, record, 400, "InvalidQueryParameterValue", `'${value}' is not a valid value of '${p.name}': ${p.enum.join(", ")}.`);
      }
      const bodyParameter = declared.find((p) => p.in === "body");
      const bodySchema = bodyParameter?.schema ?? (match.operation.operationId === "Alerts_ChangeState" ? CHANGE_STATE_BODY : undefined);
      if (body !== undefined) {
        if (!bodySchema) return error(res, record, 400, "InvalidRequestContent", `${match.operation.operationId} takes no body.`);
        const problem = schemaProblem(bodyParameter ? match.spec : SPECS[1]!, bodySchema, body);
        if (problem) return error(res, record, 400, "InvalidRequestContent", `The request content was invalid: ${problem}.`);
      } else if (bodyParameter?.required) {
        return error(res, record, 400, "InvalidRequestContent", `${match.operation.operationId} needs a body.`);
      }

      // Authorization, then the faults a test asked for.
      const denied = subscriptionsOf(target.pathname, body).find((s) => forbidden.has(s));
      if (denied) {
        return error(res, record, 403, "AuthorizationFailed", `The client does not have authorization to perform action on scope '/subscriptions/${denied}' or the scope is invalid.`);
      }
      if (failures.count > 0) {
        failures.count -= 1;
        const headers: Record<string, string> = failures.status === 429 ? { "retry-after": String(failures.retryAfter) } : {};
        return error(res, record, failures.status, failures.status === 429 ? "TooManyRequests" : "ServiceUnavailable", "Injected failure.", headers);
      }

      switch (match.operation.operationId) {
        case "Alerts_ChangeState": {
          const alertId = `/${match.params.scope}/providers/Microsoft.AlertsManagement/alerts/${match.params.alertId}`;
          const alert = alerts.get(alertId.toLowerCase());
          if (!alert) return error(res, record, 404, "ResourceNotFound", `The alert '${alertId}' was not found.`);
          alert.alertState = query.newState as FakeAlert["alertState"];
          alert.lastModifiedDateTime = new Date(now()).toISOString();
          alert.lastModifiedUserName = "secure-export managed identity";
          alert.changes.push({ newState: query.newState!, comments: (body as { comments?: string } | undefined)?.comments ?? null, apiVersion });
          return send(res, record, 200, alertBody(alert));
        }
        case "Operations_List":
          return send(res, record, 200, { value: [{ name: "Microsoft.AlertsManagement/alerts/read" }, { name: "Microsoft.AlertsManagement/alerts/changestate/action" }] });
        case "Resources": {
          const time = now();
          if (time - graphWindow.start >= GRAPH_WINDOW_MS) graphWindow = { start: time, used: 0 };
          const resetsAfter = Math.max(0, Math.ceil((graphWindow.start + GRAPH_WINDOW_MS - time) / 1000));
          const quotaHeaders = (remaining: number) => ({ "x-ms-user-quota-remaining": String(remaining), "x-ms-user-quota-resets-after": `00:00:0${Math.min(resetsAfter, 9)}` });
          if (graphWindow.used >= GRAPH_QUOTA) return error(res, record, 429, "RateLimiting", "Please provide below info when asking for support: the quota of 15 queries per 5 seconds is used up.", { ...quotaHeaders(0), "retry-after": String(resetsAfter) });
          graphWindow.used += 1;
          const request = body as { query: string; subscriptions?: string[] };
          const rows = runGraphQuery(request.query, (request.subscriptions ?? []).map((s) => s.toLowerCase()));
          if (typeof rows === "string") return error(res, record, 400, "BadRequest", rows);
          return send(res, record, 200, { totalRecords: rows.length, count: rows.length, resultTruncated: "false", data: rows }, quotaHeaders(GRAPH_QUOTA - graphWindow.used));
        }
        case "ActionGroups_CreateNotificationsAtActionGroupResourceLevel": {
          const request = body as FakeTestNotification["request"];
          if (!ALERT_TYPES.includes(request.alertType)) return error(res, record, 400, "InvalidRequestContent", `alertType '${request.alertType}' is not supported: ${ALERT_TYPES.join(", ")}.`);
          for (const receiver of request.webhookReceivers ?? []) {
            if (receiver.useAadAuth !== true) continue;
            const missing = ["objectId", "identifierUri", "tenantId"].filter((name) => typeof receiver[name] !== "string" || !receiver[name]);
            if (missing.length > 0) return error(res, record, 400, "InvalidRequestContent", `A secure webhook receiver needs ${missing.join(", ")}.`);
            if (!ownedApplications.has(String(receiver.objectId).toLowerCase())) {
              return error(res, record, 400, "AadWebhookResourceNotOwnedByCaller", `The caller is not an owner of the Microsoft Entra application ${receiver.objectId}.`);
            }
          }
          const actionGroupId = target.pathname.replace(/\/createNotifications$/i, "");
          const notification: FakeTestNotification = {
            id: String(nextNotificationId++),
            actionGroupId,
            request,
            createdTime: new Date(now()).toISOString(),
            completedTime: null,
            actions: (request.webhookReceivers ?? []).map((r) => ({ name: String(r.name), serviceUri: String(r.serviceUri), status: null, detail: null, sendTime: null })),
          };
          testNotifications.push(notification);
          send(res, record, 202, null, { location: `${url}${actionGroupId}/notificationStatus/${notification.id}?api-version=${apiVersion}` });
          void postTestPayloads(notification);
          return;
        }
        case "ActionGroups_GetTestNotificationsAtActionGroupResourceLevel": {
          const notification = testNotifications.find((n) => n.id === match.params.notificationId && n.actionGroupId.toLowerCase() === target.pathname.replace(/\/notificationStatus\/[^/]+$/i, "").toLowerCase());
          if (!notification) return error(res, record, 404, "ResourceNotFound", `The notification '${match.params.notificationId}' was not found.`);
          const done = notification.completedTime !== null;
          const failed = notification.actions.some((a) => a.status === null || a.status < 200 || a.status >= 300);
          return send(res, record, 200, {
            context: { notificationSource: "Microsoft.Insights/TestNotification", contextType: "Microsoft.Insights/LogAlertV2" },
            state: !done ? "InProgress" : failed ? "Failed" : "Completed",
            completedTime: notification.completedTime ?? "0001-01-01T00:00:00+00:00",
            createdTime: notification.createdTime,
            actionDetails: notification.actions.map((a) => ({
              MechanismType: "SecureWebhook",
              Name: a.name,
              Status: !done ? "InProgress" : a.status !== null && a.status >= 200 && a.status < 300 ? "Completed" : "Failed",
              SubState: "Default",
              SendTime: a.sendTime ?? "0001-01-01T00:00:00+00:00",
              Detail: a.detail,
            })),
          });
        }
        default:
          return error(res, record, 501, "NotImplemented", `${match.operation.operationId} is in the spec but not in this stand-in.`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    addAlert(alertId, state = {}) {
      alerts.set(alertId.toLowerCase(), {
        id: alertId,
        monitorCondition: state.monitorCondition ?? "Fired",
        alertState: state.alertState ?? "New",
        lastModifiedDateTime: new Date(now()).toISOString(),
        lastModifiedUserName: "System",
        changes: [],
      });
    },
    resolveAlert(alertId) {
      const a = alerts.get(alertId.toLowerCase());
      if (!a) throw new Error(`no alert ${alertId}`);
      a.monitorCondition = "Resolved";
      a.lastModifiedDateTime = new Date(now()).toISOString();
      a.lastModifiedUserName = "System";
    },
    alert: (alertId) => alerts.get(alertId.toLowerCase()),
    forbid: (s) => void forbidden.add(s.toLowerCase()),
    allow: (s) => void forbidden.delete(s.toLowerCase()),
    failNext(count, status, retryAfterSeconds = 1) {
      failures = { count, status, retryAfter: retryAfterSeconds };
    },
    testNotifications,
    deliverTestNotifications(on) {
      deliver = on;
    },
    ownApplication: (objectId) => void ownedApplications.add(objectId.toLowerCase()),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
