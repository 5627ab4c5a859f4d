// The console: hash-routed views over the receiver's read and operator API. Plain ES modules
// served as they are, so there is nothing to build.
import { ApiError, createApi } from "./api.js";
import { completeSignIn, currentSession, describeSignInError, loadConfig, signIn, signOut } from "./auth.js";
import { announce, badge, h, severityBadge, stateBadge, table, time } from "./dom.js";

const REFRESH_MS = 5000;
const SEVERITIES = ["Sev0", "Sev1", "Sev2", "Sev3", "Sev4"];
const SINCE = { "": "Any time", "1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days" };
const SINCE_MS = { "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000 };
const LIVE_KEY = "secure-export.live";

const main = document.getElementById("main");
let config;
let api;
/** Stops the current view's live refresh when the user navigates away. */
let stopView = () => {};

function render(...nodes) {
  main.replaceChildren(...nodes);
}

function focusHeading() {
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
}

function panel(title, ...body) {
  return h("section", { class: "panel" }, h("h1", null, title), ...body);
}

function signInPanel(message) {
  return panel(
    "Sign in",
    message ? h("p", { class: "notice error", role: "alert" }, message) : null,
    h("p", null, "See the incidents this receiver holds, their configuration items and their ITSM tickets."),
    h("button", { type: "button", class: "primary", onClick: () => signIn(config, location.hash || "#/incidents").catch((e) => render(signInPanel(`Could not reach the sign-in service: ${describeSignInError(e)}`))) }, "Sign in"),
  );
}

function noRolePanel(session) {
  return panel(
    "You don't have access yet",
    h("p", null, "You are signed in as ", h("strong", null, session.name), session.username ? ` (${session.username})` : "", `, but you do not hold the ${config.roles.reader} role on this receiver, so it will not show you incidents.`),
    h("p", null, "Ask an owner of this deployment to add your object id to the stack's ", h("code", null, "secure-export:readers"), " list (read only) or ", h("code", null, "secure-export:operators"), " (also resolve, acknowledge, comment and replay), and to run ", h("code", null, "pulumi up"), "."),
    h("p", null, "Your object id: ", h("code", { class: "select" }, session.objectId)),
    h("p", null, "Then sign out and sign in again: the new token carries the role."),
    h("button", { type: "button", onClick: () => { signOut(); route(); } }, "Sign out"),
  );
}

function operatorHint() {
  return `This needs the ${config.roles.operator} role. Ask an owner of this deployment to add your object id (${currentSession()?.objectId ?? "see the sign-in page"}) to the stack's operators.`;
}

/** What a failed call means to the user; returns true when it replaced the whole view. */
function handleFailure(error, where) {
  if (error instanceof ApiError && error.status === 401) {
    signOut();
    renderWho(null);
    render(signInPanel(error.code === "signed_out" ? "Your session ended. Sign in again." : `The receiver did not accept your sign-in (${error.message}). Sign in again.`));
    return true;
  }
  if (error instanceof ApiError && error.status === 403 && error.message.includes(config.roles.reader)) {
    render(noRolePanel(currentSession()));
    return true;
  }
  const message = error instanceof ApiError ? `${error.message} (${error.status})` : `the receiver is not reachable (${error.message})`;
  where.replaceChildren(h("p", { class: "notice error", role: "alert" }, `Could not load: ${message}`));
  return false;
}

function liveEnabled() {
  return localStorage.getItem(LIVE_KEY) !== "off";
}

function liveToggle(onChange) {
  const box = h("input", { type: "checkbox", id: "live", checked: liveEnabled() });
  box.addEventListener("change", () => {
    localStorage.setItem(LIVE_KEY, box.checked ? "on" : "off");
    onChange?.();
  });
  return h("label", { class: "live", for: "live" }, box, " Live refresh");
}

/** Calls `refresh` every few seconds while the page is visible and live refresh is on. */
function keepRefreshing(refresh) {
  let timer;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (document.visibilityState === "visible" && liveEnabled()) await refresh().catch(() => {});
    if (!stopped) timer = setTimeout(tick, REFRESH_MS);
  };
  timer = setTimeout(tick, REFRESH_MS);
  stopView = () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Replaces `target`'s content only when the data changed, keeping focus on the same row's link. */
function swap(target, node, fingerprint) {
  if (target.dataset.fingerprint === fingerprint) return;
  const focusedKey = document.activeElement?.closest?.("[data-key]")?.dataset.key;
  target.dataset.fingerprint = fingerprint;
  target.replaceChildren(node);
  if (focusedKey) target.querySelector(`[data-key="${CSS.escape(focusedKey)}"] a, [data-key="${CSS.escape(focusedKey)}"] button`)?.focus();
}

function updatedAt(element) {
  element.replaceChildren("Updated ", time(new Date().toISOString()));
}

// ---- incidents ---------------------------------------------------------------------------------

function deliverySummary(deliveries) {
  if (deliveries.length === 0) return h("span", { class: "muted" }, "–");
  return h("ul", { class: "plain" }, deliveries.map((d) => h("li", null, `${d.connector}: `, badge(d.status, d.status), d.externalNumber || d.externalId ? ` ${d.externalNumber ?? d.externalId}` : "")));
}

function ciSummary(cis) {
  if (cis.length === 0) return h("span", { class: "muted" }, "–");
  return h("ul", { class: "plain" }, cis.map((ci) => h("li", null, ci.name, ci.bound ? "" : h("span", { class: "muted" }, " (unbound)"))));
}

const incidentColumns = [
  { label: "Severity", cell: (i) => severityBadge(i.severity) },
  { label: "Incident", cell: (i) => h("div", null, h("a", { href: `#/incidents/${i.id}` }, i.title), h("div", { class: "muted small" }, i.monitoringService, i.signalType ? ` · ${i.signalType}` : "")) },
  { label: "State", cell: (i) => stateBadge(i.state) },
  { label: "Fired", cell: (i) => time(i.firedAt) },
  { label: "Configuration items", cell: (i) => ciSummary(i.configurationItems) },
  { label: "ITSM", cell: (i) => deliverySummary(i.deliveries) },
];

function incidentQuery(params, limit) {
  const query = { limit: String(limit) };
  for (const name of ["state", "severity", "ci"]) if (params.get(name)) query[name] = params.get(name);
  const since = SINCE_MS[params.get("since") ?? ""];
  if (since) query.from = new Date(Date.now() - since).toISOString();
  return query;
}

function filterForm(params) {
  const select = (name, label, options) =>
    h("label", null, label, h("select", { name }, Object.entries(options).map(([value, text]) => h("option", { value, selected: (params.get(name) ?? "") === value }, text))));
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter incidents" },
    select("state", "State", { "": "All", open: "Open", resolved: "Resolved" }),
    select("severity", "Severity", { "": "Any", ...Object.fromEntries(SEVERITIES.map((s) => [s, s])) }),
    h("label", null, "Configuration item", h("input", { name: "ci", type: "search", value: params.get("ci") ?? "", placeholder: "CI id or ARM resource id" })),
    select("since", "Fired", SINCE),
    h("button", { type: "submit" }, "Apply"),
  );
  const apply = (event) => {
    event?.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value) next.set(name, String(value));
    location.hash = `#/incidents${next.size ? `?${next}` : ""}`;
  };
  form.addEventListener("submit", apply);
  for (const element of form.querySelectorAll("select")) element.addEventListener("change", apply);
  return form;
}

async function incidentsView(params) {
  const list = h("div", { class: "list" }, h("p", { class: "muted" }, "Loading…"));
  const stamp = h("p", { class: "muted small", "aria-live": "off" });
  const more = h("div");
  render(h("div", { class: "heading" }, h("h1", null, "Incidents"), liveToggle()), filterForm(params), stamp, list, more);
  let items = [];

  const show = (page) => {
    swap(list, table("Incidents", incidentColumns, items.map((i) => ({ key: i.id, value: i })), "No incidents match. Send one with npm run send-alert, or change the filters."), JSON.stringify(items));
    more.replaceChildren(page.nextCursor ? h("button", { type: "button", onClick: () => loadMore(page.nextCursor) }, "Load more") : "");
    updatedAt(stamp);
  };
  const loadMore = async (cursor) => {
    try {
      const page = await api.incidents({ ...incidentQuery(params, 50), cursor });
      items = [...items, ...page.items];
      show(page);
    } catch (error) {
      handleFailure(error, more);
    }
  };
  const load = async () => {
    try {
      const page = await api.incidents(incidentQuery(params, Math.min(200, Math.max(50, items.length))));
      const before = new Set(items.map((i) => i.id));
      const fresh = items.length ? page.items.filter((i) => !before.has(i.id)).length : 0;
      items = page.items;
      show(page);
      if (fresh) announce(`${fresh} new incident${fresh === 1 ? "" : "s"}`);
    } catch (error) {
      if (handleFailure(error, list)) stopView();
    }
  };
  await load();
  keepRefreshing(load);
}

// ---- one incident ------------------------------------------------------------------------------

function replayButton(delivery, onDone) {
  const button = h("button", { type: "button", class: "small" }, "Replay");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Replaying…";
    try {
      await api.retry(delivery.id);
      announce(`Delivery ${delivery.id} replayed`);
      await onDone(null);
    } catch (error) {
      button.disabled = false;
      button.textContent = "Replay";
      if (error instanceof ApiError && error.status === 401) handleFailure(error, main);
      else await onDone(error instanceof ApiError && error.status === 403 ? operatorHint() : `Replay failed: ${error.message}`);
    }
  });
  return button;
}

function deliveryColumns(onDone, withIncident) {
  return [
    { label: "Delivery", cell: (d) => `#${d.id}` },
    ...(withIncident ? [{ label: "Incident", cell: (d) => h("a", { href: `#/incidents/${d.incidentId}` }, "open incident") }] : []),
    { label: "Connector", cell: (d) => d.connector },
    { label: "Action", cell: (d) => d.action },
    { label: "Status", cell: (d) => badge(d.status, d.status) },
    { label: "Ticket", cell: (d) => (d.externalNumber || d.externalId ? h("span", null, d.externalNumber ?? "", d.externalId && d.externalId !== d.externalNumber ? h("span", { class: "muted small" }, ` ${d.externalId}`) : "") : h("span", { class: "muted" }, "–")) },
    { label: "Attempts", cell: (d) => String(d.attempts) },
    { label: "Last error", cell: (d) => (d.lastError ? h("span", { class: "error-text" }, d.lastError) : h("span", { class: "muted" }, "–")) },
    { label: "", cell: (d) => (d.status === "dead" ? replayButton(d, onDone) : "") },
  ];
}


/** A message for the next rendering of one incident's page (it survives the rebuild that follows an action). */
let flash = null;

/**
 * What an operator does to an incident, as the CLI does it: resolve (its tickets are resolved and
 * its Azure alert closed), acknowledge (its tickets get a note, its Azure alert is Acknowledged),
 * comment (its tickets get the note). A resolved incident takes comments only.
 */
function resolveForm(incident, onDone) {
  const open = incident.state === "open";
  const note = h("textarea", { id: "resolve-note", name: "note", rows: "2", maxlength: "4000" });
  const message = h("div");
  const button = h("button", { type: "submit", class: "primary" }, "Resolve incident");
  const ack = h("button", { type: "button" }, "Acknowledge");
  const comment = h("button", { type: "button" }, "Add comment");
  const buttons = open ? [button, " ", ack, " ", comment] : [comment];
  const form = h(
    "form",
    { class: "resolve", "aria-labelledby": "resolve-heading" },
    h("h2", { id: "resolve-heading" }, open ? "Resolve" : "Comment"),
    h("label", { for: "resolve-note" }, open ? "Note (optional, sent to the ITSM tools)" : "Comment (sent to the ITSM tools)"),
    note,
    h("div", null, buttons),
    message,
  );
  const act = async (action, done) => {
    for (const b of [button, ack, comment]) b.disabled = true;
    try {
      // An action may find it has nothing to do (returns the incident with `unchanged` words).
      const result = await action();
      announce(result.unchanged ? result.unchanged : done);
      onDone(result.incident ?? result);
    } catch (error) {
      for (const b of [button, ack, comment]) b.disabled = false;
      if (error instanceof ApiError && error.status === 403) message.replaceChildren(h("p", { class: "notice error", role: "alert" }, operatorHint()));
      else handleFailure(error, message);
    }
  };
  // Resolving is idempotent: look first, so an incident resolved meanwhile (by Azure, the ITSM or
  // another operator) is reported as such instead of "resolved" again.
  const resolveOnce = async () => {
    const current = await api.incident(incident.id);
    if (current.state !== "resolved") return api.resolve(incident.id, note.value.trim());
    const how = current.timeline.filter((e) => e.type === "resolved").at(-1)?.summary ?? "resolved";
    // Shown on the page rebuilt with the incident as it is now.
    flash = { incidentId: incident.id, text: `This incident was already ${how}; nothing changed.` };
    return { incident: current, unchanged: "Incident was already resolved" };
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (open) void act(resolveOnce, "Incident resolved");
  });
  ack.addEventListener("click", () => void act(() => api.acknowledge(incident.id, note.value.trim()), "Incident acknowledged"));
  comment.addEventListener("click", () => {
    if (!note.value.trim()) {
      message.replaceChildren(h("p", { class: "notice error", role: "alert" }, "Write the comment in the note first."));
      note.focus();
      return;
    }
    void act(() => api.comment(incident.id, note.value.trim()), "Comment added");
  });
  return form;
}

function incidentBody(incident, reload) {
  const notice = h("div");
  const flashed = flash?.incidentId === incident.id ? h("p", { class: "notice", role: "status" }, flash.text) : null;
  if (flashed) flash = null;
  const afterReplay = async (problem) => {
    if (problem) notice.replaceChildren(h("p", { class: "notice error", role: "alert" }, problem));
    else await reload();
  };
  return [
    h("p", null, h("a", { href: "#/incidents" }, "← All incidents")),
    h("div", { class: "heading" }, h("h1", null, incident.title), liveToggle()),
    flashed,
    h("p", { class: "badges" }, severityBadge(incident.severity), " ", stateBadge(incident.state), incident.resolution ? h("span", { class: "muted small" }, ` by ${incident.resolution.replace("_", " ")}`) : ""),
    h(
      "dl",
      { class: "facts" },
      [
        ["Fired", time(incident.firedAt)],
        ["Resolved", time(incident.resolvedAt)],
        ["Alert rule", incident.alertRule ?? "–"],
        ["Monitoring service", `${incident.monitoringService}${incident.signalType ? ` (${incident.signalType})` : ""}`],
        ["Alert id", h("code", { class: "wrap" }, incident.alertId)],
        ["Incident id", h("code", null, incident.id)],
      ].map(([term, value]) => [h("dt", null, term), h("dd", null, value)]),
    ),
    incident.description ? h("p", { class: "description" }, incident.description) : null,
    resolveForm(incident, () => reload()),
    h("h2", null, "Configuration items"),
    table(
      "Configuration items",
      [
        { label: "Name", cell: (c) => c.name },
        { label: "Resource", cell: (c) => (c.resourceId ? h("code", { class: "wrap" }, c.resourceId) : h("span", { class: "muted" }, "unbound: no resource id")) },
        { label: "Open incidents", cell: (c) => h("a", { href: `#/incidents?ci=${encodeURIComponent(c.id)}&state=open` }, String(c.openIncidents)) },
      ],
      incident.configurationItems.map((c) => ({ key: c.id, value: c })),
      "No configuration items.",
    ),
    h("h2", null, "ITSM deliveries"),
    notice,
    table("ITSM deliveries", deliveryColumns(afterReplay, false), incident.deliveries.map((d) => ({ key: d.id, value: d })), "No ITSM connector is configured, so the receiver's own ledger is the record."),
    h("h2", null, "Timeline"),
    h("ol", { class: "timeline" }, incident.timeline.map((e) => h("li", { "data-type": e.type }, time(e.at), " ", e.summary))),
  ];
}

async function incidentView(id) {
  const container = h("div", null, h("p", { class: "muted" }, "Loading…"));
  render(container);
  let first = true;
  const load = async () => {
    try {
      const incident = await api.incident(id);
      const fingerprint = JSON.stringify(incident);
      if (container.dataset.fingerprint === fingerprint) return;
      // Never rebuild under a user typing a note.
      if (!first && container.contains(document.activeElement) && document.activeElement.tagName === "TEXTAREA") return;
      container.dataset.fingerprint = fingerprint;
      container.replaceChildren(...incidentBody(incident, load).filter(Boolean));
      if (first) focusHeading();
      first = false;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) container.replaceChildren(panel("Incident not found", h("p", null, `No incident ${id}. `, h("a", { href: "#/incidents" }, "All incidents"))));
      else if (handleFailure(error, container)) stopView();
    }
  };
  await load();
  keepRefreshing(load);
}

// ---- dead letters and unbound CIs --------------------------------------------------------------

async function deadLettersView() {
  const list = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const notice = h("div");
  const stamp = h("p", { class: "muted small" });
  render(
    h("div", { class: "heading" }, h("h1", null, "Dead letters"), liveToggle()),
    h("p", null, "ITSM deliveries the receiver gave up on (a permanent error, or retries ran out). Fix the cause, then replay them."),
    notice,
    stamp,
    list,
  );
  const load = async () => {
    try {
      const page = await api.deliveries({ status: "dead", limit: "200" });
      const afterReplay = async (problem) => {
        notice.replaceChildren(problem ? h("p", { class: "notice error", role: "alert" }, problem) : h("p", { class: "notice ok" }, "Replayed: the delivery is pending again and will be retried now."));
        await load();
      };
      swap(list, table("Dead-lettered deliveries", deliveryColumns(afterReplay, true), page.items.map((d) => ({ key: d.id, value: d })), "No dead letters: every delivery reached its tool or is still being retried."), JSON.stringify(page.items));
      updatedAt(stamp);
    } catch (error) {
      if (handleFailure(error, list)) stopView();
    }
  };
  await load();
  keepRefreshing(load);
}

async function unboundCisView() {
  const list = h("div", null, h("p", { class: "muted" }, "Loading…"));
  render(
    h("h1", null, "Unbound configuration items"),
    h("p", null, "Names Azure listed in an alert's configurationItems without a resource id, so they could not be bound to a resource. They are kept, not dropped."),
    list,
  );
  try {
    const page = await api.cis({ bound: "false", limit: "200" });
    list.replaceChildren(
      table(
        "Unbound configuration items",
        [
          { label: "Name", cell: (c) => c.name },
          { label: "First seen", cell: (c) => time(c.firstSeenAt) },
          { label: "Last seen", cell: (c) => time(c.lastSeenAt) },
          { label: "Open incidents", cell: (c) => h("a", { href: `#/incidents?ci=${encodeURIComponent(c.id)}&state=open` }, String(c.openIncidents)) },
        ],
        page.items.map((c) => ({ key: c.id, value: c })),
        "No unbound configuration items.",
      ),
    );
  } catch (error) {
    handleFailure(error, list);
  }
}

const MATCH_FIELDS = [
  ["alertRules", "Alert rules", "cpu-high-*, disk-full"],
  ["subscriptions", "Subscriptions", "aaaa0a0a-bb1b-…"],
  ["resourceGroups", "Resource groups", "rg-web, *-vms"],
  ["severities", "Severities", "Sev3, Sev4"],
];

/** Adds a silence: the match as the routing rules write it (comma-separated lists), a duration and why. */
function silenceForm(onAdded) {
  const inputs = MATCH_FIELDS.map(([key, label, example]) => [key, label, h("input", { id: `silence-${key}`, name: key, placeholder: example, autocomplete: "off" })]);
  const duration = h("input", { id: "silence-duration", name: "duration", value: "1h", required: "" });
  const comment = h("input", { id: "silence-comment", name: "comment", required: "", maxlength: "1000" });
  const message = h("div");
  const button = h("button", { type: "submit", class: "primary" }, "Add silence");
  const form = h(
    "form",
    { class: "resolve", "aria-labelledby": "silence-heading" },
    h("h2", { id: "silence-heading" }, "Add a silence"),
    h("p", { class: "muted small" }, "New incidents it matches are held until it ends: sent then if still open, never if resolved. Lists are comma-separated; * and ? are wildcards."),
    ...inputs.flatMap(([key, label, input]) => [h("label", { for: `silence-${key}` }, label), input]),
    h("label", { for: "silence-duration" }, "For (30m, 2h, 1d)"),
    duration,
    h("label", { for: "silence-comment" }, "Why"),
    comment,
    h("div", null, button),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const match = Object.fromEntries(inputs.flatMap(([key, , input]) => {
      const values = input.value.split(",").map((v) => v.trim()).filter(Boolean);
      return values.length ? [[key, values]] : [];
    }));
    button.disabled = true;
    try {
      const silence = await api.addSilence({ match, duration: duration.value.trim(), comment: comment.value.trim() });
      announce("Silence added");
      message.replaceChildren(h("p", { class: "notice ok" }, `Silence ${silence.id} added, until ${new Date(silence.endsAt).toLocaleString()}.`));
      form.reset();
      duration.value = "1h";
      await onAdded();
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) message.replaceChildren(h("p", { class: "notice error", role: "alert" }, operatorHint()));
      else if (error instanceof ApiError && error.status === 400) message.replaceChildren(h("p", { class: "notice error", role: "alert" }, error.message));
      else handleFailure(error, message);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

async function silencesView() {
  const list = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const notice = h("div");
  const load = async () => {
    try {
      const [active, pending, expired] = await Promise.all(["active", "pending", "expired"].map((state) => api.silences({ state, limit: "100" })));
      const expire = (s) =>
        s.state === "expired"
          ? h("span", { class: "muted small" }, s.expiredBy ? `expired by ${s.expiredBy}` : "ended")
          : h("button", {
              type: "button",
              onClick: async (event) => {
                event.currentTarget.disabled = true;
                try {
                  const { released } = await api.expireSilence(s.id);
                  notice.replaceChildren(h("p", { class: "notice ok" }, `Silence expired: ${released} held incident${released === 1 ? "" : "s"} released (sent within seconds if still open).`));
                  announce("Silence expired");
                } catch (error) {
                  if (error instanceof ApiError && error.status === 403) notice.replaceChildren(h("p", { class: "notice error", role: "alert" }, operatorHint()));
                  else handleFailure(error, notice);
                }
                await load();
              },
            }, "Expire now");
      const rows = [...active.items, ...pending.items, ...expired.items];
      swap(
        list,
        table(
          "Silences",
          [
            { label: "State", cell: (s) => badge(s.state, s.state === "active" ? "pending" : "") },
            { label: "Matches", cell: (s) => h("code", null, Object.entries(s.match).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : JSON.stringify(v)}`).join("; ")) },
            { label: "From", cell: (s) => time(s.startsAt) },
            { label: "Until", cell: (s) => time(s.endsAt) },
            { label: "Why", cell: (s) => h("div", null, s.comment, h("div", { class: "muted small" }, `by ${s.createdBy}`)) },
            { label: "", cell: expire },
          ],
          rows.map((s) => ({ key: s.id, value: s })),
          "No silences.",
        ),
        JSON.stringify(rows),
      );
    } catch (error) {
      if (handleFailure(error, list)) stopView();
    }
  };
  render(
    h("div", { class: "heading" }, h("h1", null, "Silences"), liveToggle()),
    h("p", null, "Like amtool silence: mute what a match names for a while. Nothing is dropped: a silenced incident is stored and shown with the silence's id."),
    notice,
    list,
    silenceForm(load),
  );
  await load();
  keepRefreshing(load);
}

// ---- status ------------------------------------------------------------------------------------

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const STATE_KIND = { ok: "delivered", idle: "resolved", failing: "dead", unauthorized: "dead", unknown: "pending", warning: "pending", expired: "dead" };

function heartbeatText(hb) {
  if (!hb.enabled) return "off";
  if (!hb.known) return `unknown: ${hb.detail}`;
  const state = hb.healthy ? "ok" : `missing since ${hb.missingSince}`;
  return `${state}; last sent ${hb.lastSentAt ?? "never"}, last received ${hb.lastReceivedAt ?? "never"}${hb.verdict ? `, Azure: ${hb.verdict}` : ""}${hb.lastSendError ? `; last request failed: ${hb.lastSendError}` : ""}`;
}

/** The receiver at a glance (GET /api/status): what needs a person first, then the store, connectors, credentials and rules. */
function statusPage(s) {
  const hb = s.heartbeat;
  const r = s.rules;
  const facts = [
    ["Receiver", `secure-export ${s.version}`],
    ["Store", `${s.store.kind}, ${s.store.reachable ? "reachable" : `unreachable: ${s.store.detail ?? "unknown"}`}`],
    ["Heartbeat", heartbeatText(hb)],
    ["Rules", r.inEffect ? `${plural(r.admissionRules, "admission rule")}, ${plural(r.routes, "route")}, ${plural(r.maintenanceWindows, "maintenance window")}, ${plural(r.noiseRules, "noise rule")}, ${plural(r.stormGuards, "storm guard")}` : "none: every alert admitted, to every connector"],
    ["Silences in force", r.silencesInForce === null ? "unknown" : String(r.silencesInForce)],
  ];
  return h(
    "div",
    null,
    s.healthy
      ? h("p", { class: "notice ok", id: "health" }, "Healthy: nothing needs you.")
      : h("div", { class: "notice error", id: "health", role: "alert" }, h("p", null, "Needs attention:"), h("ul", null, s.problems.map((p) => h("li", null, p)))),
    h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
    h("h2", null, "Connectors"),
    table(
      "Connectors",
      [
        { label: "Connector", cell: (c) => c.name },
        { label: "Kind", cell: (c) => c.kind },
        { label: "State", cell: (c) => badge(c.state, STATE_KIND[c.state]) },
        { label: "Last success", cell: (c) => (c.lastSuccessAt ? time(c.lastSuccessAt) : h("span", { class: "muted" }, "–")) },
        { label: "Last failure", cell: (c) => (c.lastFailureAt ? time(c.lastFailureAt) : h("span", { class: "muted" }, "–")) },
        { label: "Queued", cell: (c) => (c.queueDepth === null ? "–" : String(c.queueDepth)) },
        { label: "Dead letters", cell: (c) => (c.deadLetters ? h("a", { href: "#/dead-letters" }, String(c.deadLetters)) : c.deadLetters === null ? "–" : "0") },
        { label: "Detail", cell: (c) => (c.state === "failing" || c.state === "unauthorized" ? h("span", { class: "error-text" }, c.detail) : c.detail) },
      ],
      s.connectors.map((c) => ({ key: c.name, value: c })),
      "No ITSM connector is configured.",
    ),
    h("h2", null, "Credentials"),
    table(
      "Credential expiry",
      [
        { label: "Connector", cell: (c) => c.connector },
        { label: "Credential", cell: (c) => c.credential },
        { label: "Expires", cell: (c) => (c.expiresAt ? time(c.expiresAt) : h("span", { class: "muted" }, "not set")) },
        { label: "Days left", cell: (c) => (c.daysLeft === null ? "–" : String(c.daysLeft)) },
        // Not watched is not urgent: no colour.
        { label: "State", cell: (c) => (c.state === "unknown" ? badge("unknown: set credentialExpiresAt") : badge(c.state, STATE_KIND[c.state])) },
      ],
      s.credentials.items.map((c) => ({ key: c.connector, value: c })),
      "No connector holds a credential.",
    ),
    h("p", { class: "muted small" }, `An incident opens ${s.credentials.warnDays} days before a credential expires (CREDENTIAL_WARN_DAYS).`),
  );
}

async function statusView() {
  const body = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const stamp = h("p", { class: "muted small" });
  render(h("div", { class: "heading" }, h("h1", null, "Status"), liveToggle()), stamp, body);
  const load = async () => {
    try {
      const status = await api.status();
      // checkedAt changes every time: compare without it, so an unchanged page is not rebuilt.
      swap(body, statusPage(status), JSON.stringify({ ...status, checkedAt: null }));
      updatedAt(stamp);
    } catch (error) {
      if (handleFailure(error, body)) stopView();
    }
  };
  await load();
  keepRefreshing(load);
}

// ---- shell -------------------------------------------------------------------------------------

function renderWho(session) {
  const who = document.getElementById("who");
  document.getElementById("nav").hidden = !session;
  who.replaceChildren(
    ...(session
      ? [h("span", { class: "name", title: session.username }, session.name), h("button", { type: "button", class: "link", onClick: () => { signOut(); route(); } }, "Sign out")]
      : []),
  );
}

function markCurrent(path) {
  for (const link of document.querySelectorAll("#nav a")) {
    const target = link.getAttribute("href").slice(1);
    if (path === target || (target === "/incidents" && path.startsWith("/incidents"))) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  stopView();
  stopView = () => {};
  // Applying a filter re-renders the list: keep the keyboard where it was rather than at the top.
  const filterInFocus = document.activeElement?.closest?.("form.filters") ? document.activeElement.getAttribute("name") : null;
  const session = currentSession();
  renderWho(session);
  if (!session) {
    render(signInPanel());
    return;
  }
  const [path = "", query = ""] = location.hash.slice(1).split("?");
  markCurrent(path);
  if (path.startsWith("/incidents/")) await incidentView(decodeURIComponent(path.slice("/incidents/".length)));
  else if (path === "/dead-letters") await deadLettersView();
  else if (path === "/cis") await unboundCisView();
  else if (path === "/silences") await silencesView();
  else if (path === "/status") await statusView();
  else await incidentsView(new URLSearchParams(query));
  const refocus = filterInFocus && main.querySelector(`form.filters [name="${filterInFocus}"]`);
  if (refocus) refocus.focus();
  else if (!path.startsWith("/incidents/")) focusHeading();
}

async function start() {
  try {
    config = await loadConfig();
  } catch (error) {
    render(panel("The console cannot start", h("p", null, `Could not load its configuration from the receiver: ${error.message}`)));
    return;
  }
  if (!config.clientId) {
    render(panel("Sign-in is not configured", h("p", null, "This receiver has no ENTRA_CLIENT_ID, so the console cannot sign anyone in. The Pulumi stack sets it; for a receiver run by hand, set ENTRA_CLIENT_ID to the application's client id. The CLI works without it: npx secure-export incidents list.")));
    return;
  }
  try {
    const returnTo = await completeSignIn(config);
    if (returnTo) history.replaceState(null, "", returnTo);
  } catch (error) {
    render(signInPanel(`Sign-in failed: ${describeSignInError(error)}`));
    return;
  }
  api = createApi(() => currentSession()?.accessToken);
  window.addEventListener("hashchange", route);
  await route();
}

start();
