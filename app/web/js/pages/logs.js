// Logs: filters over `GET /logs` (request or event log) and a table, newest first, with "load more".

import { api } from "../api.js";
import { badge, busy, emptyState, field, h, messageArea, replace, timeEl } from "../dom.js";
import { describe } from "../errors.js";

const COLUMNS = {
  request: [
    ["Time", (r) => timeEl(r.ts)],
    ["Method", (r) => r.method],
    ["Path", (r) => h("code", { text: r.path })],
    ["Status", (r) => badge(r.status >= 500 ? "error" : r.status >= 400 ? "warning" : "ok", String(r.status))],
    ["Duration", (r) => `${Number(r.duration_ms).toFixed(1)} ms`],
    ["Client", (r) => r.ip],
  ],
  event: [
    ["Time", (r) => timeEl(r.ts)],
    ["Level", (r) => badge(r.level)],
    ["Source", (r) => r.source],
    ["Event", (r) => h("code", { text: r.event })],
    ["Message", (r) => r.message],
    ["Details", (r) => contextText(r)],
  ],
};

function contextText(row) {
  const context = row.context && typeof row.context === "object" ? row.context : {};
  const parts = Object.entries(context).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`);
  return h("span", { class: "small muted", text: parts.join(" ") });
}

/** `datetime-local` values are local time; the API wants ISO-8601 with a zone. */
function isoOrEmpty(value) {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function logsPage(root) {
  const msg = messageArea();
  const kind = field("Log", {}, "select");
  kind.input.append(h("option", { value: "request", text: "Requests" }), h("option", { value: "event", text: "Events" }));
  const level = field("Level", {}, "select");
  level.input.append(h("option", { value: "", text: "any" }),
    ["debug", "info", "warning", "error", "critical"].map((l) => h("option", { value: l, text: l })));
  const since = field("From", { type: "datetime-local", step: 1 });
  const until = field("Until", { type: "datetime-local", step: 1 });
  const q = field("Text", { type: "search", maxlength: 200, placeholder: "search" });
  const phone = field("Profile phone", { type: "text", maxlength: 32, placeholder: "+1555…" });
  const status = field("Status", { type: "number", min: 100, max: 599 });
  const path = field("Path prefix", { type: "text", maxlength: 2048, placeholder: "/profiles" });
  const apply = h("button", { type: "submit", class: "primary", text: "Show" });
  const form = h("form", { class: "card filters", novalidate: true, "aria-label": "Log filters" },
    h("div", { class: "filter-grid" }, kind.wrap, level.wrap, since.wrap, until.wrap, q.wrap, phone.wrap, status.wrap, path.wrap),
    h("div", { class: "row" }, apply),
  );
  const results = h("section", { class: "card", "aria-label": "Log rows", "aria-busy": "false" });
  const more = h("button", { type: "button", text: "Load more", hidden: true });
  root.append(h("h1", { text: "Logs" }), form, msg.el, results, h("div", { class: "row" }, more));

  let cursor = null;
  let tbody = null;

  function syncFields() {
    const isEvent = kind.input.value === "event";
    level.wrap.hidden = !isEvent;
    phone.wrap.hidden = !isEvent;
    status.wrap.hidden = isEvent;
    path.wrap.hidden = isEvent;
  }
  kind.input.addEventListener("change", () => {
    syncFields();
    run(false);
  });

  function query() {
    const isEvent = kind.input.value === "event";
    return {
      kind: kind.input.value,
      level: isEvent ? level.input.value : undefined,
      since: isoOrEmpty(since.input.value),
      until: isoOrEmpty(until.input.value),
      q: q.input.value.trim(),
      phone: isEvent ? phone.input.value.trim() : undefined,
      status: isEvent ? undefined : status.input.value,
      path: isEvent ? undefined : path.input.value.trim(),
      limit: 100,
      cursor: cursor || undefined,
    };
  }

  async function run(append) {
    msg.clear();
    if (!append) cursor = null;
    results.setAttribute("aria-busy", "true");
    try {
      const page = await api("GET", "/logs", { query: query() });
      const columns = COLUMNS[kind.input.value];
      if (!append || !tbody) {
        tbody = h("tbody");
        replace(results, h("table", { class: "table logs" },
          h("caption", { class: "sr-only", text: `${kind.input.value} log, newest first` }),
          h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", { scope: "col", text: title })))),
          tbody));
      }
      for (const row of page.items) {
        tbody.append(h("tr", {}, columns.map(([title, cell]) => h("td", { "data-label": title }, cell(row)))));
      }
      if (!tbody.children.length) replace(results, emptyState("No log rows match. Widen the time range or clear a filter; new rows arrive within seconds."));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (exc) {
      msg.error(describe(exc));
    } finally {
      results.setAttribute("aria-busy", "false");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(apply, () => run(false));
  });
  more.addEventListener("click", () => busy(more, () => run(true)));
  syncFields();
  run(false);
  return {};
}
