// Small DOM helpers. Everything the receiver returns reaches the page as text nodes or attribute
// values, never as HTML, so an alert title cannot inject markup.

/** h("a", { href: "#/x", onClick: fn }, "text", child): an element with properties and children. */
export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

function ago(date) {
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  return relative.format(seconds, "second");
}

/** A <time> showing the local date and time, with how long ago in its title. */
export function time(iso) {
  if (!iso) return h("span", { class: "muted" }, "–");
  const date = new Date(iso);
  return h("time", { datetime: iso, title: ago(date) }, dateTime.format(date));
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind ?? ""}` }, text);
}

export function severityBadge(severity) {
  return severity ? badge(severity, `sev sev${severity.slice(3)}`) : badge("none", "sev");
}

export function stateBadge(state) {
  return badge(state, state === "open" ? "open" : "resolved");
}

/** A table that becomes one card per row on a narrow screen (each cell labelled by its column). */
export function table(caption, columns, rows, empty) {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    { class: "grid" },
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col" }, c.label)))),
    h("tbody", null, rows.map((row) => h("tr", { dataset: row.key ? { key: row.key } : undefined }, columns.map((c) => h("td", { "data-label": c.label }, c.cell(row.value)))))),
  );
}

/** Tells screen readers what just happened, without moving focus. */
export function announce(message) {
  const status = document.getElementById("status");
  status.textContent = "";
  requestAnimationFrame(() => (status.textContent = message));
}
