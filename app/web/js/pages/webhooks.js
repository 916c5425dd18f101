// Webhooks: create (the secret is shown once), edit, delete, send a test, the delivery log with retry.

import { api } from "../api.js";
import { announce, badge, busy, emptyState, field, h, messageArea, nextId, replace, timeEl } from "../dom.js";
import { describe } from "../errors.js";

export const EVENT_TYPES = [
  "message.received", "message.sent", "message.failed", "message.edited", "message.deleted", "message.read",
  "profile.status_changed", "profile.health_changed", "channel.joined", "channel.join_failed", "channel.reassigned", "webhook.disabled",
  "alert",
];
const DELIVERY_POLL_MS = 1500;

function eventTypePicker(legend, selected) {
  const boxes = EVENT_TYPES.map((type) => {
    const id = nextId("et");
    const input = h("input", { type: "checkbox", id, value: type, checked: selected.includes(type) || selected.includes("*") });
    return { input, el: h("div", { class: "check" }, input, h("label", { for: id, text: type })) };
  });
  const all = h("input", { type: "checkbox", id: nextId("et"), value: "*", checked: selected.includes("*") });
  const allEl = h("div", { class: "check" }, all, h("label", { for: all.id, text: "every event (*)" }));
  all.addEventListener("change", () => boxes.forEach((b) => { b.input.disabled = all.checked; }));
  boxes.forEach((b) => { b.input.disabled = all.checked; });
  return {
    el: h("fieldset", { class: "event-types" }, h("legend", { text: legend }), allEl, boxes.map((b) => b.el)),
    value: () => (all.checked ? ["*"] : boxes.filter((b) => b.input.checked).map((b) => b.input.value)),
  };
}

export function webhooksPage(root) {
  const status = messageArea();
  const listEl = h("div", { "aria-busy": "true" });
  const secretBox = h("div", { class: "secret", role: "region", "aria-label": "New webhook secret", hidden: true });
  const timers = new Set();

  root.append(
    h("h1", { text: "Webhooks" }),
    createForm(),
    secretBox,
    h("section", { class: "card", "aria-labelledby": "webhooks-list-title" },
      h("h2", { id: "webhooks-list-title", text: "Endpoints" }), status.el, listEl),
  );

  function createForm() {
    const msg = messageArea();
    const url = field("Endpoint URL", { type: "url", required: true, placeholder: "https://example.com/hooks/telegram" });
    const description = field("Description (optional)", { type: "text", maxlength: 500 });
    const types = eventTypePicker("Events to deliver", ["message.received"]);
    const submit = h("button", { type: "submit", class: "primary", text: "Create webhook" });
    const form = h("form", { class: "card", novalidate: true, "aria-labelledby": "webhook-create-title" },
      h("h2", { id: "webhook-create-title", text: "Add an endpoint" }),
      url.wrap, description.wrap, types.el, msg.el, h("div", { class: "row" }, submit));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      msg.clear();
      const chosen = types.value();
      if (!url.input.value.trim()) return msg.error("Enter the endpoint URL.");
      if (!chosen.length) return msg.error("Choose at least one event type.");
      busy(submit, async () => {
        try {
          const created = await api("POST", "/webhooks", { json: {
            url: url.input.value.trim(), event_types: chosen,
            ...(description.input.value.trim() ? { description: description.input.value.trim() } : {}),
          } });
          url.input.value = "";
          description.input.value = "";
          showSecret(created);
          await load();
        } catch (exc) {
          msg.error(describe(exc));
        }
      });
    });
    return form;
  }

  function showSecret(webhook) {
    const value = h("code", { class: "secret-value", text: webhook.secret });
    const copy = h("button", { type: "button", text: "Copy" });
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(webhook.secret);
        announce("Secret copied");
      } catch {
        window.getSelection().selectAllChildren(value);
      }
    });
    const done = h("button", { type: "button", class: "primary", text: "I have saved it" });
    done.addEventListener("click", () => {
      secretBox.hidden = true;
      replace(secretBox);
    });
    replace(secretBox,
      h("h2", { text: "Signing secret" }),
      h("p", {}, "Save this secret for ", h("strong", { text: webhook.url }),
        " now: it is shown only this once. Receivers verify the webhook-signature header with it."),
      h("p", {}, value), h("div", { class: "row" }, copy, done));
    secretBox.hidden = false;
    done.focus();
    announce("Webhook created. Its secret is shown once.");
  }

  async function load() {
    // Cards are rebuilt: their delivery polls end with them.
    for (const t of timers) clearInterval(t);
    timers.clear();
    try {
      const hooks = await api("GET", "/webhooks");
      status.clear();
      if (!hooks.length) {
        replace(listEl, emptyState("No webhooks yet. Add an endpoint above to receive events as signed HTTP POSTs.",
          { href: "/schema#/webhooks", text: "Webhooks in the API docs" }));
        return;
      }
      replace(listEl, h("ul", { class: "hooks" }, hooks.map((w) => h("li", {}, hookCard(w)))));
    } catch (exc) {
      status.error(describe(exc));
    } finally {
      listEl.setAttribute("aria-busy", "false");
    }
  }

  function hookCard(w) {
    const msg = messageArea();
    const titleId = nextId("hook");
    const editArea = h("div", { hidden: true });
    const deliveries = h("div", { class: "deliveries", hidden: true });
    const edit = h("button", { type: "button", text: "Edit", "aria-expanded": "false" });
    const test = h("button", { type: "button", text: "Send test" });
    const log = h("button", { type: "button", text: "Deliveries", "aria-expanded": "false" });
    const remove = h("button", { type: "button", class: "danger", text: "Delete" });
    let poll = null;

    edit.addEventListener("click", () => {
      const open = editArea.hidden;
      editArea.hidden = !open;
      edit.setAttribute("aria-expanded", String(open));
      if (open) {
        replace(editArea, editForm(w, msg));
        editArea.querySelector("input").focus();
      }
    });
    test.addEventListener("click", () => busy(test, async () => {
      try {
        await api("POST", `/webhooks/${w.id}/test`);
        msg.info("Test event queued.");
        if (deliveries.hidden) log.click();
        else refreshDeliveries();
      } catch (exc) {
        msg.error(describe(exc));
      }
    }));
    log.addEventListener("click", () => {
      const open = deliveries.hidden;
      deliveries.hidden = !open;
      log.setAttribute("aria-expanded", String(open));
      clearInterval(poll);
      timers.delete(poll);
      if (open) {
        refreshDeliveries();
        poll = setInterval(refreshDeliveries, DELIVERY_POLL_MS);
        timers.add(poll);
      }
    });
    remove.addEventListener("click", () => {
      if (!window.confirm(`Delete the webhook for ${w.url}?`)) return;
      busy(remove, async () => {
        try {
          await api("DELETE", `/webhooks/${w.id}`);
          clearInterval(poll);
          announce("Webhook deleted");
          await load();
        } catch (exc) {
          msg.error(describe(exc));
        }
      });
    });

    async function refreshDeliveries() {
      try {
        const page = await api("GET", `/webhooks/${w.id}/deliveries`, { query: { limit: 20 } });
        replace(deliveries, deliveryTable(w, page.items, msg, refreshDeliveries));
      } catch (exc) {
        clearInterval(poll);
        msg.error(describe(exc));
      }
    }

    return h("article", { class: "hook", "aria-labelledby": titleId, dataset: { id: w.id } },
      h("div", { class: "hook-head" },
        h("h3", { id: titleId, class: "hook-url", text: w.url }),
        badge(w.status),
      ),
      w.description ? h("p", { class: "muted", text: w.description }) : null,
      h("p", { class: "small" }, "Events: ", h("span", { text: w.event_types.join(", ") })),
      h("p", { class: "small muted" },
        `Failures: ${w.failure_count} (${w.consecutive_failures} in a row) · last success: `,
        timeEl(w.last_success_at)),
      h("div", { class: "row actions" }, edit, test, log, remove),
      msg.el, editArea, deliveries,
    );
  }

  function editForm(w, msg) {
    const url = field("Endpoint URL", { type: "url", value: w.url, required: true });
    const description = field("Description", { type: "text", value: w.description || "", maxlength: 500 });
    const types = eventTypePicker("Events to deliver", w.event_types);
    const active = field("Status", {}, "select");
    active.input.append(
      h("option", { value: "active", text: "active", selected: w.status !== "disabled" }),
      h("option", { value: "disabled", text: "disabled", selected: w.status === "disabled" }),
    );
    const save = h("button", { type: "submit", class: "primary", text: "Save" });
    const form = h("form", { class: "edit-form", novalidate: true }, url.wrap, description.wrap, types.el, active.wrap,
      h("div", { class: "row" }, save));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(save, async () => {
        try {
          const patch = { url: url.input.value.trim(), event_types: types.value(), description: description.input.value.trim() || null };
          if ((w.status === "disabled") !== (active.input.value === "disabled")) patch.status = active.input.value;
          await api("PATCH", `/webhooks/${w.id}`, { json: patch });
          announce("Webhook saved");
          await load();
        } catch (exc) {
          msg.error(describe(exc));
        }
      });
    });
    return form;
  }

  function deliveryTable(w, items, msg, refresh) {
    if (!items.length) return h("p", { class: "empty", text: "No deliveries yet." });
    return h("table", { class: "table" },
      h("caption", { text: "Recent deliveries" }),
      h("thead", {}, h("tr", {}, ["Event", "Status", "Attempts", "Response", "Created", "Delivered", ""]
        .map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, items.map((d) => {
        const retry = d.status === "succeeded" ? null : h("button", { type: "button", text: "Retry", "aria-label": `Retry delivery of ${d.event_type}` });
        if (retry) {
          retry.addEventListener("click", () => busy(retry, async () => {
            try {
              await api("POST", `/webhooks/${w.id}/deliveries/${d.id}/retry`);
              announce("Delivery retried");
              await refresh();
            } catch (exc) {
              msg.error(describe(exc));
            }
          }));
        }
        return h("tr", { dataset: { status: d.status } },
          h("td", { "data-label": "Event", text: d.event_type }),
          h("td", { "data-label": "Status" }, badge(d.status)),
          h("td", { "data-label": "Attempts", text: String(d.attempt) }),
          h("td", { "data-label": "Response", text: [d.last_status_code, d.last_error].filter((x) => x !== null && x !== undefined && x !== "").join(" ") || "—" }),
          h("td", { "data-label": "Created" }, timeEl(d.created_at)),
          h("td", { "data-label": "Delivered" }, timeEl(d.delivered_at)),
          h("td", { class: "actions" }, retry),
        );
      })),
    );
  }

  load();
  return {
    destroy() {
      for (const t of timers) clearInterval(t);
    },
  };
}
