// Channels: add and remove monitored channels, a live feed per channel (deleted posts struck through with their
// content, edits marked) and the assignment / failover history.

import { api } from "../api.js";
import { announce, badge, busy, emptyState, field, h, messageArea, replace, timeEl } from "../dom.js";
import { describe } from "../errors.js";
import * as live from "../live.js";
import { messagesOf } from "./inbox.js";
import { profileName } from "./profiles.js";

const CHANNEL_EVENTS = new Set(["channel.joined", "channel.join_failed", "channel.reassigned"]);
const listOf = (body) => (Array.isArray(body) ? body : body?.items || []);
const channelTitle = (c) => c.title || (c.username ? `@${c.username}` : `Channel ${c.telegram_id || c.id}`);
const assignedPhone = (c) =>
  c.phone || c.profile_phone || (typeof c.profile === "string" ? c.profile : c.profile?.phone) || c.assigned_profile?.phone || "";

export function channelsPage(root) {
  let channels = [];
  let openId = null;
  let reloadTimer = null;
  const status = messageArea();
  const addMsg = messageArea();
  const channelField = field("Channel", { type: "text", required: true, placeholder: "@username, t.me link or id",
    hint: "A @username, a t.me link, an invite link or a numeric id." });
  const profileSelect = field("Profile (optional)", {}, "select");
  const addButton = h("button", { type: "submit", class: "primary", text: "Add channel" });
  const addForm = h("form", { class: "card", novalidate: true, "aria-labelledby": "channel-add-title" },
    h("h2", { id: "channel-add-title", text: "Monitor a channel" }),
    h("div", { class: "form-row" }, channelField.wrap, profileSelect.wrap),
    addMsg.el, h("div", { class: "row" }, addButton),
  );
  const listEl = h("div", { "aria-busy": "true" });
  const feedTitle = h("h2", { id: "feed-title", tabindex: "-1", text: "Choose a channel" });
  const includeDeleted = h("input", { type: "checkbox", id: "feed-include-deleted", checked: true });
  const feedEl = h("ol", { class: "feed", role: "log", "aria-live": "polite", "aria-labelledby": "feed-title" });
  const historyEl = h("div", { class: "history" });
  const feed = h("section", { class: "card feed-card", "aria-labelledby": "feed-title", hidden: true },
    feedTitle,
    h("div", { class: "field inline" }, includeDeleted, h("label", { for: "feed-include-deleted", text: "Show deleted posts" })),
    feedEl,
    h("h3", { text: "Assignment history" }),
    historyEl,
  );

  root.append(
    h("h1", { text: "Channels" }),
    addForm,
    h("section", { class: "card", "aria-labelledby": "channel-list-title" },
      h("h2", { id: "channel-list-title", text: "Monitored channels" }), status.el, listEl),
    feed,
  );

  async function loadProfiles() {
    try {
      const profiles = await api("GET", "/profiles");
      replace(profileSelect.input, h("option", { value: "", text: "Least-loaded active profile" }),
        profiles.map((p) => h("option", { value: p.phone, text: `${profileName(p)} (${p.phone})` })));
    } catch {
      /* the list stays with its default choice */
    }
  }

  async function load() {
    try {
      channels = listOf(await api("GET", "/channels"));
      status.clear();
      renderList();
    } catch (exc) {
      status.error(exc.status === 404 || exc.status === 405
        ? "Channel monitoring is not available on this server yet."
        : describe(exc));
    } finally {
      listEl.setAttribute("aria-busy", "false");
    }
  }

  function renderList() {
    if (!channels.length) {
      replace(listEl, emptyState("No channels monitored yet. Add one above (on the sandbox, try @sandbox_news); a profile joins it for you.",
        { href: "#profiles", text: "No profile yet? Connect one." }));
      return;
    }
    replace(listEl, h("table", { class: "table" },
      h("caption", { class: "sr-only", text: "Monitored channels" }),
      h("thead", {}, h("tr", {}, ["Channel", "Profile", "Status", "Messages", "Last message", "Actions"]
        .map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, channels.map(channelRow)),
    ));
  }

  function channelRow(c) {
    const open = h("button", { type: "button", class: "link", text: channelTitle(c), "aria-label": `Open feed of ${channelTitle(c)}` });
    open.addEventListener("click", () => openFeed(c.id));
    const remove = h("button", { type: "button", class: "danger", text: "Remove", "aria-label": `Stop monitoring ${channelTitle(c)}` });
    remove.addEventListener("click", () => {
      if (!window.confirm(`Stop monitoring ${channelTitle(c)}?`)) return;
      busy(remove, async () => {
        try {
          await api("DELETE", `/channels/${encodeURIComponent(c.id)}`);
          announce(`${channelTitle(c)} removed`);
          if (String(openId) === String(c.id)) {
            openId = null;
            feed.hidden = true;
          }
          await load();
        } catch (exc) {
          status.error(describe(exc));
        }
      });
    });
    const count = c.message_count ?? c.messages_count ?? c.counts?.messages;
    const deleted = c.deleted_count ?? c.counts?.deleted;
    return h("tr", { dataset: { id: String(c.id) } },
      h("th", { scope: "row" }, open, c.username ? h("div", { class: "muted small", text: `@${c.username}` }) : null),
      h("td", { "data-label": "Profile", text: assignedPhone(c) || "—" }),
      h("td", { "data-label": "Status" }, badge(c.status)),
      h("td", { "data-label": "Messages", text: count === undefined ? "—" : `${count}${deleted ? ` (${deleted} deleted)` : ""}` }),
      h("td", { "data-label": "Last message" }, timeEl(c.last_message_at)),
      h("td", { class: "actions" }, remove),
    );
  }

  async function openFeed(id) {
    openId = id;
    feed.hidden = false;
    const c = channels.find((x) => String(x.id) === String(id));
    feedTitle.textContent = c ? `Feed of ${channelTitle(c)}` : "Feed";
    await Promise.all([loadFeed(), loadHistory()]);
    feedTitle.focus();
  }

  async function loadFeed() {
    if (openId === null) return;
    const id = openId;
    try {
      const body = await api("GET", `/channels/${encodeURIComponent(id)}/messages`,
        { query: { include_deleted: includeDeleted.checked ? "true" : "false", limit: 100 } });
      if (id !== openId) return;
      const items = messagesOf(body).slice()
        .sort((a, b) => Number(b.telegram_message_id || b.message_id || 0) - Number(a.telegram_message_id || a.message_id || 0));
      replace(feedEl, items.length ? items.map(postItem) : h("li", { class: "empty", text: "No posts yet." }));
    } catch (exc) {
      status.error(describe(exc));
    }
  }

  function postItem(m) {
    const deleted = Boolean(m.is_deleted || m.deleted_at);
    const edits = [m.previous_texts, m.edits, m.edit_history].find(Array.isArray) || [];
    const edited = Boolean(m.edit_date || m.edited_at || edits.length);
    return h("li", { class: `post${deleted ? " deleted" : ""}`, dataset: { id: String(m.id) } },
      h("div", { class: "msg-head" },
        h("span", { class: "muted small", text: `#${m.telegram_message_id ?? m.message_id ?? ""}` }),
        timeEl(m.date || m.created_at),
      ),
      h(deleted ? "del" : "p", { class: "text", text: m.text || (m.media_type ? `[${m.media_type}]` : "") }),
      h("div", { class: "msg-foot" },
        edited ? h("span", { class: "mark edited", text: "edited" }) : null,
        deleted ? h("span", { class: "mark deleted-mark" }, "deleted ", m.deleted_at ? timeEl(m.deleted_at) : null) : null,
      ),
      edits.length ? h("details", { class: "edits" }, h("summary", { text: `Earlier versions (${edits.length})` }),
        h("ol", {}, edits.map((e) => h("li", { text: String(e.text ?? e.previous_text ?? e) })))) : null,
    );
  }

  async function loadHistory() {
    if (openId === null) return;
    try {
      const detail = await api("GET", `/channels/${encodeURIComponent(openId)}`);
      const rows = detail.assignments || detail.assignment_history || detail.history || [];
      if (!rows.length) {
        replace(historyEl, h("p", { class: "empty", text: "No assignment recorded." }));
        return;
      }
      replace(historyEl, h("table", { class: "table" },
        h("thead", {}, h("tr", {}, ["Profile", "Status", "From", "Until", "Reason"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows.map((a) => h("tr", {},
          h("td", { text: a.phone || a.profile_phone || a.profile?.phone || a.profile_id || "—" }),
          h("td", {}, badge(a.status)),
          h("td", {}, timeEl(a.assigned_at)),
          h("td", {}, timeEl(a.ended_at)),
          h("td", { text: a.reason || "" }),
        ))),
      ));
    } catch (exc) {
      replace(historyEl, h("p", { class: "error", text: describe(exc) }));
    }
  }

  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    addMsg.clear();
    const channel = channelField.input.value.trim();
    if (!channel) return addMsg.error("Enter a channel.");
    busy(addButton, async () => {
      try {
        const phone = profileSelect.input.value;
        const created = await api("POST", "/channels", { json: { channel, ...(phone ? { phone } : {}) } });
        channelField.input.value = "";
        addMsg.info(`Monitoring ${channelTitle(created)}.`);
        announce(`Monitoring ${channelTitle(created)}`);
        await load();
      } catch (exc) {
        addMsg.error(exc.status === 409 ? "You already monitor this channel." : describe(exc));
      }
    });
  });
  includeDeleted.addEventListener("change", loadFeed);

  function scheduleReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => {
      load();
      loadFeed();
      loadHistory();
    }, 40);
  }

  const unsubscribe = live.subscribe((event) => {
    const channelMessage = event.type.startsWith("message.") && event.data && (event.data.channel_id || event.data.channel);
    if (channelMessage || CHANNEL_EVENTS.has(event.type) || event.type === "resync") scheduleReload();
    if (event.type === "channel.reassigned") announce("A channel was reassigned to another profile");
  });
  loadProfiles();
  load();
  return {
    destroy() {
      clearTimeout(reloadTimer);
      unsubscribe();
    },
  };
}
