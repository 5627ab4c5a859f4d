/**
 * What each alertContext shape says that a person handling the incident needs: the condition,
 * the query, the event, and any resources it names beyond alertTargetIDs. One reader per shape
 * of the common alert schema (docs/http-api.md#what-is-stored-as-sent-and-what-is-adjusted); each tolerates the documented quirks and never throws.
 */
import { arr, arrOrJson, compact, num, obj, str, type JsonObject } from "./read.ts";

export interface ContextSummary {
  /** Short, human title when the context has a better one than the rule name. */
  title?: string;
  /** ARM resource ids named inside the context (log dimensions, scopes). */
  resourceIds: string[];
  /** CI names named inside the context (Log Analytics AffectedConfigurationItems). */
  configurationItems: string[];
  /** When the underlying event happened, if the context says so. */
  eventTime?: string;
  details: JsonObject;
}

const ARM_ID = /^\/subscriptions\/[^/]+(\/.*)?$/i;
const RESOURCE_DIMENSIONS = new Set(["resourceid", "_resourceid"]);

/** Dimension values that name an ARM resource (`ResourceId`/`_ResourceId`), in either casing. */
function dimensionResourceIds(dimensions: unknown): string[] {
  return arr(dimensions).flatMap((dimension) => {
    const d = obj(dimension);
    const name = str(d?.name)?.toLowerCase();
    const value = str(d?.value);
    return name && value && RESOURCE_DIMENSIONS.has(name) && ARM_ID.test(value) ? [value] : [];
  });
}

function dimensionPairs(dimensions: unknown): JsonObject[] {
  return arr(dimensions).flatMap((dimension) => {
    const d = obj(dimension);
    const name = str(d?.name);
    return name ? [{ name, value: str(d?.value) ?? null }] : [];
  });
}

function criteria(context: JsonObject): JsonObject[] {
  return arr(obj(context.condition)?.allOf).flatMap((c) => (obj(c) ? [obj(c) as JsonObject] : []));
}

function metric(context: JsonObject): ContextSummary {
  const all = criteria(context);
  return {
    resourceIds: all.flatMap((c) => dimensionResourceIds(c.dimensions)),
    configurationItems: [],
    details: compact({
      conditionType: str(context.conditionType),
      windowSize: str(obj(context.condition)?.windowSize),
      windowStartTime: str(obj(context.condition)?.windowStartTime),
      windowEndTime: str(obj(context.condition)?.windowEndTime),
      conditions: all.map((c) =>
        compact({
          metricName: str(c.metricName),
          metricNamespace: str(c.metricNamespace),
          operator: str(c.operator),
          threshold: str(c.threshold),
          timeAggregation: str(c.timeAggregation),
          metricValue: num(c.metricValue),
          alertSensitivity: str(c.alertSensitivity),
          webTestName: str(c.webTestName),
          dimensions: dimensionPairs(c.dimensions),
        }),
      ),
    }),
  };
}

/** Log Alerts V2 and Simple Log Alert: LogQueryCriteria. */
function logQuery(context: JsonObject): ContextSummary {
  const all = criteria(context);
  return {
    resourceIds: all.flatMap((c) => dimensionResourceIds(c.dimensions)),
    configurationItems: [],
    details: compact({
      conditionType: str(context.conditionType),
      windowStartTime: str(obj(context.condition)?.windowStartTime),
      windowEndTime: str(obj(context.condition)?.windowEndTime),
      conditions: all.map((c) =>
        compact({
          searchQuery: str(c.searchQuery),
          operator: str(c.operator),
          threshold: str(c.threshold),
          metricValue: num(c.metricValue),
          dimensions: dimensionPairs(c.dimensions),
          linkToSearchResultsUI: str(c.linkToSearchResultsUI),
        }),
      ),
    }),
  };
}

/** Log alert V1 (Log Analytics, Application Insights): capitalised fields, optional search results. */
function logV1(context: JsonObject): ContextSummary {
  const fromResults = arr(obj(context.SearchResults)?.tables).flatMap((table) => {
    const t = obj(table);
    const columns = arr(t?.columns).map((column) => str(obj(column)?.name)?.toLowerCase());
    const index = columns.findIndex((name) => name !== undefined && RESOURCE_DIMENSIONS.has(name));
    if (index < 0) return [];
    return arr(t?.rows).flatMap((row) => {
      const value = str(arr(row)[index]);
      return value && ARM_ID.test(value) ? [value] : [];
    });
  });
  return {
    resourceIds: [...dimensionResourceIds(context.Dimensions), ...fromResults],
    configurationItems: arr(context.AffectedConfigurationItems).flatMap((ci) => (str(ci) ? [str(ci) as string] : [])),
    details: compact({
      searchQuery: str(context.SearchQuery),
      searchIntervalStartTimeUtc: str(context.SearchIntervalStartTimeUtc),
      searchIntervalEndTimeUtc: str(context.SearchIntervalEndtimeUtc ?? context.SearchIntervalEndTimeUtc),
      resultCount: num(context.ResultCount),
      threshold: num(context.Threshold),
      operator: str(context.Operator),
      workspaceId: str(context.WorkspaceId),
      applicationId: str(context.ApplicationId),
      dimensions: dimensionPairs(context.Dimensions),
      // Both spellings occur in real payloads.
      includedSearchResults: str(context.IncludedSearchResults ?? context.IncludeSearchResults),
      linkToSearchResults: str(context.LinkToSearchResults),
    }),
  };
}

function activityLog(context: JsonObject): ContextSummary {
  const scope = str(obj(context.authorization)?.scope);
  const eventTime = str(context.eventTimestamp);
  return {
    resourceIds: scope && ARM_ID.test(scope) ? [scope] : [],
    configurationItems: [],
    ...(eventTime ? { eventTime } : {}),
    details: compact({
      operationName: str(context.operationName),
      eventSource: str(context.eventSource),
      level: str(context.level),
      status: str(context.status),
      subStatus: str(context.subStatus),
      caller: str(context.caller),
      correlationId: str(context.correlationId),
      eventTimestamp: eventTime,
      properties: obj(context.properties),
    }),
  };
}

function serviceHealth(context: JsonObject): ContextSummary {
  const base = activityLog(context);
  const p = obj(context.properties) ?? {};
  const title = str(p.title) ?? str(p.defaultLanguageTitle);
  return {
    ...base,
    ...(title ? { title } : {}),
    details: compact({
      ...base.details,
      properties: undefined,
      trackingId: str(p.trackingId),
      incidentType: str(p.incidentType),
      stage: str(p.stage),
      service: str(p.service),
      region: str(p.region),
      impactStartTime: str(p.impactStartTime),
      impactMitigationTime: str(p.impactMitigationTime),
      impactedServices: arrOrJson(p.impactedServices).flatMap((s) => {
        const service = obj(s);
        const name = str(service?.ServiceName);
        if (!name) return [];
        const regions = arr(service?.ImpactedRegions).flatMap((r) => (str(obj(r)?.RegionName) ? [str(obj(r)?.RegionName) as string] : []));
        return [{ serviceName: name, regions }];
      }),
    }),
  };
}

function resourceHealth(context: JsonObject): ContextSummary {
  const base = activityLog(context);
  const p = obj(context.properties) ?? {};
  const title = str(p.title);
  return {
    ...base,
    ...(title ? { title } : {}),
    details: compact({
      ...base.details,
      properties: undefined,
      currentHealthStatus: str(p.currentHealthStatus),
      previousHealthStatus: str(p.previousHealthStatus),
      type: str(p.type),
      cause: str(p.cause),
    }),
  };
}

function smartDetector(context: JsonObject): ContextSummary {
  const title = str(context.DetectionSummary);
  return {
    resourceIds: [],
    configurationItems: [],
    ...(title ? { title } : {}),
    details: compact({
      smartDetectorName: str(context.SmartDetectorName),
      smartDetectorId: str(context.SmartDetectorId),
      detectionSummary: title,
      detectedValue: str(context.DetectedValue),
      normalValue: str(context.NormalValue),
      occurrenceTime: str(context.FormattedOccurrenceTime),
    }),
  };
}

function prometheus(context: JsonObject): ContextSummary {
  const title = str(obj(context.annotations)?.summary);
  return {
    resourceIds: [],
    configurationItems: [],
    ...(title ? { title } : {}),
    details: compact({
      expression: str(context.expression),
      expressionValue: str(context.expressionValue),
      interval: str(context.interval),
      for: str(context.for),
      labels: obj(context.labels),
      annotations: obj(context.annotations),
      ruleGroup: str(context.ruleGroup),
    }),
  };
}

function budget(context: JsonObject): ContextSummary {
  const data = obj(context.AlertData) ?? {};
  const name = str(data.BudgetName);
  return {
    resourceIds: [],
    configurationItems: [],
    ...(name ? { title: `Budget ${name}: ${str(data.ThresholdType) ?? "threshold"} spend alert` } : {}),
    details: compact({
      alertCategory: str(context.AlertCategory),
      budgetName: name,
      budgetId: str(data.BudgetId),
      scope: str(data.Scope),
      thresholdType: str(data.ThresholdType),
      budgetThreshold: str(data.BudgetThreshold),
      notificationThresholdAmount: str(data.NotificationThresholdAmount),
      spentAmount: str(data.SpentAmount),
      forecastedTotalForPeriod: str(data.ForecastedTotalForPeriod),
      unit: str(data.Unit),
    }),
  };
}

function unknown(): ContextSummary {
  return { resourceIds: [], configurationItems: [], details: {} };
}

export const contextReaders = { metric, logQuery, logV1, activityLog, serviceHealth, resourceHealth, smartDetector, prometheus, budget, unknown };
export type ContextReader = (context: JsonObject) => ContextSummary;
