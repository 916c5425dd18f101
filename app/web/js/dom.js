// Building the DOM without markup: every piece of data becomes a text node, never HTML.

/**
 * h("button", {class: "primary", onclick: fn, "aria-label": "Send"}, "Send")
 * Props: `class`, `text`, `dataset`, `on<event>` listeners, booleans (`hidden`, `disabled`, ...), other attributes.
 * Children: nodes, strings (as text), arrays, null/undefined/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value") el.value = value;
    else if (key === "checked" || key === "selected") el[key] = Boolean(value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

let uid = 0;
/** A unique id for label/aria wiring. */
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field: returns {wrap, input}. */
export function field(label, props = {}, tag = "input") {
  const id = props.id || nextId("f");
  const input = h(tag, { ...props, id });
  const hint = props.hint ? h("small", { id: `${id}-hint`, class: "hint", text: props.hint }) : null;
  if (hint) {
    input.removeAttribute("hint");
    input.setAttribute("aria-describedby", hint.id);
  }
  const wrap = h("div", { class: "field" }, h("label", { for: id, text: label }), input, hint);
  return { wrap, input };
}

const announcer = () => document.getElementById("announcer");

/** Say something to screen readers (polite): new messages, results of actions. */
export function announce(text) {
  const el = announcer();
  if (!el) return;
  el.textContent = "";
  // A new text node in a fresh task is announced even when the text repeats.
  setTimeout(() => {
    el.textContent = text;
  }, 30);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function parseTime(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A <time> element, always with its time: "today, 14:03:05" for today, the date and time otherwise. */
export function timeEl(value, cls = "when") {
  const date = parseTime(value);
  if (!date) return h("span", { class: cls, text: "—" });
  const today = new Date().toDateString() === date.toDateString();
  return h("time", {
    class: cls,
    datetime: date.toISOString(),
    title: date.toLocaleString(),
    text: today ? `today, ${timeFormat.format(date)}` : dateTimeFormat.format(date),
  });
}

/** A status shown as a coloured badge with its name in words. */
export function badge(status, label) {
  const name = String(status || "unknown");
  return h("span", { class: `badge badge-${name.replace(/[^a-z_-]/gi, "")}`, text: label || name });
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? "" : "s"}`;
  const hrs = Math.round(m / 60);
  return `${hrs} hour${hrs === 1 ? "" : "s"}`;
}

/** An inline message area for a form (role=alert for errors). */
export function messageArea() {
  const el = h("p", { class: "error", role: "alert" });
  return {
    el,
    error(text) {
      el.className = "error";
      el.textContent = text || "";
    },
    info(text) {
      el.className = "info";
      el.textContent = text || "";
    },
    clear() {
      el.textContent = "";
    },
  };
}

/** An empty state that says what to do next, with a link there (`href` a page hash such as "#profiles"). */
export function emptyState(text, next = null, tag = "p") {
  const el = h(tag, { class: "empty", text });
  if (next) el.append(" ", h("a", { href: next.href, text: next.text }));
  return el;
}

/** Run an async action with the button disabled (and a spinner on it, app.css) meanwhile. */
export async function busy(button, action) {
  const was = button.disabled;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    button.disabled = was;
    button.removeAttribute("aria-busy");
  }
}
