// Inbox: conversations grouped by profile with unread counts, one conversation with its messages, a reply box;
// live over the event stream (each message event reloads what it touches, so the page converges on the server).

import { api } from "../api.js";
import { announce, badge, busy, emptyState, clear, h, messageArea, nextId, replace, timeEl } from "../dom.js";
import { describe } from "../errors.js";
import * as live from "../live.js";
import { profileName } from "./profiles.js";

const MESSAGE_EVENTS = new Set([
  "message.received", "message.sent", "message.failed", "message.edited", "message.deleted", "message.read",
]);

/** `GET /conversations` as a flat list, whatever the envelope (`[...]`, `{items}`, or groups by profile). */
export function conversationsOf(body) {
  if (Array.isArray(body)) {
    if (body.length && Array.isArray(body[0].conversations)) return flattenGroups(body);
    return body;
  }
  if (body && Array.isArray(body.items)) return body.items;
  if (body && Array.isArray(body.groups)) return flattenGroups(body.groups);
  if (body && Array.isArray(body.profiles)) return flattenGroups(body.profiles);
  return [];
}

function flattenGroups(groups) {
  return groups.flatMap((g) => g.conversations.map((c) => ({ ...c, phone: c.phone || g.phone || g.profile?.phone })));
}

export function messagesOf(body) {
  if (Array.isArray(body)) return body;
  if (body && Array.isArray(body.items)) return body.items;
  if (body && Array.isArray(body.messages)) return body.messages;
  return [];
}

const phoneOf = (c) => c.phone || c.profile_phone || (typeof c.profile === "string" ? c.profile : c.profile?.phone) || "";
const titleOf = (c) => c.title || c.name || c.username || (c.peer_id ? `Chat ${c.peer_id}` : "Conversation");
const isOutgoing = (m) => m.direction === "outgoing" || m.direction === "out" || m.outgoing === true;
const timeOf = (m) => m.date || m.sent_at || m.created_at;
const isGroup = (c) => c.kind === "group" || c.kind === "supergroup";

/** A service message (a join, a title change, a pin, an upgrade...) in words; the acting member is its sender. */
export function serviceText(m) {
  const media = m.media || {};
  const who = m.sender_name || "Someone";
  const count = (users) => (Array.isArray(users) && users.length > 1 ? `${users.length} members` : "a member");
  switch (media.action) {
    case "MessageActionChatCreate": return `${who} created the group “${media.title || ""}”`;
    case "MessageActionChannelCreate": return `${who} created “${media.title || ""}”`;
    case "MessageActionChatAddUser":
      return Array.isArray(media.users) && media.users.length === 1 && media.users[0] === m.sender_id
        ? `${who} joined the group` : `${who} added ${count(media.users)}`;
    case "MessageActionChatJoinedByLink": return `${who} joined by an invite link`;
    case "MessageActionChatDeleteUser":
      return media.user_id === m.sender_id ? `${who} left the group` : `${who} removed a member`;
    case "MessageActionChatEditTitle": return `${who} changed the title to “${media.title || ""}”`;
    case "MessageActionPinMessage": return `${who} pinned a message`;
    case "MessageActionChatMigrateTo": return "The group was upgraded to a supergroup";
    case "MessageActionChannelMigrateFrom": return `The supergroup was made from the group “${media.title || ""}”`;
    default: return `${who}: ${String(media.action || "service message").replace(/^MessageAction/, "")}`;
  }
}

const isService = (m) => m.media_type === "service";
const textOf = (m) => (isService(m) ? serviceText(m) : m.text || (m.media_type ? `[${m.media_type}]` : ""));

// Older servers sent no can_post: then only broadcast channels were read-only.
const canPost = (c) => (typeof c.can_post === "boolean" ? c.can_post : c.kind !== "channel");

function whyNoReply(c) {
  return c.kind === "channel"
    ? "This is a broadcast channel and this profile is not one of its admins: only admins post here, so there is no reply box."
    : "This profile may not write in this chat (it left, or writing is restricted for it), so there is no reply box.";
}

export function inboxPage(root) {
  const profiles = new Map(); // phone -> profile
  let conversations = [];
  let openId = null;
  let openConversation = null;
  let filterPhone = "";
  let reloadTimer = null;
  let knownMessageIds = new Set();

  const status = messageArea();
  const filter = h("select", { id: "inbox-profile-filter" }, h("option", { value: "", text: "All profiles" }));
  const listEl = h("nav", { class: "conversations", "aria-label": "Conversations", "aria-busy": "true" });
  const threadTitle = h("h2", { id: "thread-title", tabindex: "-1", text: "Choose a conversation" });
  const threadMeta = h("p", { class: "muted small" });
  const messagesEl = h("ol", { class: "messages", role: "log", "aria-live": "off", "aria-labelledby": "thread-title",
    hidden: true });
  const replyId = nextId("reply");
  const replyLabel = h("label", { for: replyId, text: "Reply" });
  const replyInput = h("textarea", { id: replyId, rows: 2, maxlength: 4096, placeholder: "Write a reply…",
    "aria-describedby": `${replyId}-hint` });
  const replyButton = h("button", { type: "submit", class: "primary", text: "Send" });
  const replyMsg = messageArea();
  const replyForm = h("form", { class: "reply", hidden: true },
    replyLabel,
    h("div", { class: "reply-row" }, replyInput, replyButton),
    h("small", { id: `${replyId}-hint`, class: "hint", text: "Enter sends, Shift+Enter adds a line." }),
    replyMsg.el,
  );
  const noReply = h("p", { class: "muted small no-reply", hidden: true });
  const back = h("button", { type: "button", class: "link back", text: "← Conversations" });
  const thread = h("section", { class: "thread", "aria-labelledby": "thread-title" },
    back, threadTitle, threadMeta, messagesEl, replyForm, noReply);
  const layout = h("div", { class: "inbox" },
    h("section", { class: "inbox-list", "aria-label": "Conversations by profile" },
      h("div", { class: "field inline" }, h("label", { for: "inbox-profile-filter", text: "Profile" }), filter),
      listEl,
    ),
    thread,
  );
  root.append(h("h1", { text: "Inbox" }), status.el, layout);

  filter.addEventListener("change", () => {
    filterPhone = filter.value;
    loadConversations();
  });
  back.addEventListener("click", () => {
    layout.classList.remove("show-thread");
    const button = listEl.querySelector(`[data-id="${CSS.escape(String(openId))}"]`);
    if (button) button.focus();
  });

  async function loadProfiles() {
    try {
      const list = await api("GET", "/profiles");
      profiles.clear();
      for (const p of list) profiles.set(p.phone, p);
      const chosen = filter.value;
      replace(filter, h("option", { value: "", text: "All profiles" }),
        list.map((p) => h("option", { value: p.phone, text: `${profileName(p)} (${p.phone})`, selected: p.phone === chosen })));
    } catch (exc) {
      status.error(describe(exc));
    }
  }

  async function loadConversations() {
    try {
      const body = await api("GET", "/conversations", { query: { phone: filterPhone || undefined } });
      conversations = conversationsOf(body);
      status.clear();
      renderConversations();
    } catch (exc) {
      status.error(exc.status === 404 && exc.code === "not_found" && !filterPhone
        ? "The inbox is not available on this server yet."
        : describe(exc));
    } finally {
      listEl.setAttribute("aria-busy", "false");
    }
  }

  function renderConversations() {
    if (!conversations.length) {
      replace(listEl, profiles.size
        ? emptyState("No conversations yet. Messages to your profiles appear here as they arrive.",
          { href: "#channels", text: "Or follow a channel." })
        : emptyState("No profiles yet: connect a Telegram account first.",
          { href: "#profiles", text: "Connect a profile" }));
      return;
    }
    const groups = new Map();
    for (const c of conversations) {
      const phone = phoneOf(c);
      if (!groups.has(phone)) groups.set(phone, []);
      groups.get(phone).push(c);
    }
    const sections = [];
    for (const [phone, items] of groups) {
      items.sort((a, b) => String(b.last_message_at || "").localeCompare(String(a.last_message_at || "")));
      const profile = profiles.get(phone);
      const headingId = nextId("group");
      const unreadTotal = items.reduce((n, c) => n + (c.unread_count || 0), 0);
      sections.push(h("section", { class: "conv-group", "aria-labelledby": headingId },
        h("h3", { id: headingId },
          h("span", { text: profile ? profileName(profile) : phone }),
          profile && profileName(profile) !== phone ? h("span", { class: "muted small", text: ` ${phone}` }) : null,
          unreadTotal ? h("span", { class: "sr-only", text: `, ${unreadTotal} unread` }) : null,
        ),
        h("ul", {}, items.map((c) => h("li", {}, conversationButton(c)))),
      ));
    }
    replace(listEl, sections);
  }

  function conversationButton(c) {
    const unread = c.unread_count || 0;
    const last = c.last_message || c.last_message_text;
    let preview = typeof last === "string" ? last : last && textOf(last);
    // In a group the preview names who wrote it.
    if (last && typeof last !== "string" && isGroup(c) && !isService(last) && preview) {
      preview = `${isOutgoing(last) ? "You" : last.sender_name || "Someone"}: ${preview}`;
    }
    const button = h("button", {
      type: "button",
      class: `conv${String(c.id) === String(openId) ? " open" : ""}`,
      dataset: { id: String(c.id) },
      "aria-current": String(c.id) === String(openId) ? "true" : null,
      "aria-label": `${titleOf(c)}${unread ? `, ${unread} unread` : ""}`,
    },
      h("span", { class: "conv-title", text: titleOf(c) }),
      unread ? h("span", { class: "unread", "aria-hidden": "true", text: String(unread) }) : null,
      preview ? h("span", { class: "conv-preview", text: preview }) : null,
      h("span", { class: "conv-time" }, timeEl(c.last_message_at)),
    );
    button.addEventListener("click", () => openConversationById(c.id, true));
    return button;
  }

  async function openConversationById(id, focus) {
    openId = id;
    openConversation = conversations.find((c) => String(c.id) === String(id)) || null;
    knownMessageIds = new Set();
    layout.classList.add("show-thread");
    renderConversations();
    const phone = openConversation ? phoneOf(openConversation) : "";
    const profile = profiles.get(phone);
    threadTitle.textContent = openConversation ? titleOf(openConversation) : "Conversation";
    threadMeta.textContent = phone ? `via ${profile ? profileName(profile) : phone} (${phone})` : "";
    replyLabel.textContent = phone ? `Reply as ${profile ? profileName(profile) : phone}` : "Reply";
    // Offer a box only where the profile can write (the API's can_post): elsewhere it would fail with
    // CHAT_WRITE_FORBIDDEN, so say why instead.
    const readOnly = Boolean(openConversation) && !canPost(openConversation);
    replyForm.hidden = readOnly;
    noReply.hidden = !readOnly;
    noReply.textContent = readOnly ? whyNoReply(openConversation) : "";
    messagesEl.hidden = false;
    clear(messagesEl);
    await loadMessages({ announceNew: false });
    if (focus) threadTitle.focus();
    markRead(openConversation);
  }

  /** Opening a conversation reads it, as in a Telegram app (best effort: the list refreshes either way). */
  async function markRead(conversation) {
    if (!conversation || !conversation.unread_count || conversation.peer_id === undefined) return;
    try {
      await api("POST", "/messages/read", { json: { phone: phoneOf(conversation), peer: conversation.peer_id } });
      conversation.unread_count = 0;
      renderConversations();
    } catch {
      /* the unread count stays as the server has it */
    }
  }

  async function loadMessages({ announceNew }) {
    if (openId === null) return;
    const id = openId;
    try {
      const body = await api("GET", `/conversations/${encodeURIComponent(id)}/messages`, { query: { limit: 100 } });
      if (id !== openId) return;
      const items = messagesOf(body).slice().sort(byTime);
      renderMessages(items, announceNew);
    } catch (exc) {
      status.error(describe(exc));
    }
  }

  function byTime(a, b) {
    const d = String(timeOf(a) || "").localeCompare(String(timeOf(b) || ""));
    return d || (Number(a.telegram_message_id || 0) - Number(b.telegram_message_id || 0));
  }

  function renderMessages(items, announceNew) {
    const atBottom = messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 40;
    const fresh = items.filter((m) => !knownMessageIds.has(String(m.id)));
    knownMessageIds = new Set(items.map((m) => String(m.id)));
    if (!items.length) {
      replace(messagesEl, h("li", { class: "empty", text: "No messages yet." }));
      return;
    }
    // The log is aria-live=off (a rebuild would re-read everything): new incoming messages go to the announcer.
    replace(messagesEl, items.map(messageItem));
    if (atBottom || !announceNew) messagesEl.scrollTop = messagesEl.scrollHeight;
    if (announceNew) {
      for (const m of fresh.filter((x) => !isOutgoing(x))) {
        announce(isService(m) ? serviceText(m) : `New message from ${m.sender_name || m.sender || titleOf(openConversation || {})}: ${m.text || ""}`);
      }
    }
  }

  function messageItem(m) {
    const out = isOutgoing(m);
    const deleted = Boolean(m.is_deleted || m.deleted_at);
    const body = h(deleted ? "del" : "p", { class: "text", text: textOf(m) });
    const statusValue = out ? m.status || "sent" : null;
    const edits = Array.isArray(m.previous_texts) ? m.previous_texts : Array.isArray(m.edits) ? m.edits : [];
    const edited = Boolean(m.edit_date || m.edited_at || edits.length);
    if (isService(m)) {
      return h("li", { class: "msg service", dataset: { id: String(m.id), status: "received" } }, body, timeEl(timeOf(m)));
    }
    return h("li", {
      class: `msg ${out ? "out" : "in"}${deleted ? " deleted" : ""}`,
      dataset: { id: String(m.id), status: statusValue || "received" },
    },
      h("div", { class: "msg-head" },
        h("span", { class: "sender", text: out ? "You" : m.sender_name || m.sender || titleOf(openConversation || {}) }),
        h("span", { class: "sr-only", text: out ? " (outgoing)" : " (incoming)" }),
        timeEl(timeOf(m)),
      ),
      body,
      h("div", { class: "msg-foot" },
        edited ? h("span", { class: "mark edited", title: edits.length ? `Before: ${edits.map((e) => e.text ?? e.previous_text ?? e).join(" → ")}` : "", text: "edited" }) : null,
        deleted ? h("span", { class: "mark deleted-mark", text: "deleted" }) : null,
        statusValue ? badge(statusValue, statusValue) : null,
        statusValue === "failed" && m.error ? h("span", { class: "error small", text: ` ${m.error}` }) : null,
      ),
      edits.length ? h("details", { class: "edits" }, h("summary", { text: `Earlier versions (${edits.length})` }),
        h("ol", {}, edits.map((e) => h("li", { text: String(e.text ?? e.previous_text ?? e) })))) : null,
    );
  }

  replyInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      replyForm.requestSubmit();
    }
  });
  replyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = replyInput.value.trim();
    if (!text || openId === null) return;
    replyMsg.clear();
    busy(replyButton, async () => {
      try {
        await api("POST", `/conversations/${encodeURIComponent(openId)}/reply`, { json: { text } });
        replyInput.value = "";
        announce("Reply sent");
        await loadMessages({ announceNew: false });
      } catch (exc) {
        replyMsg.error(describe(exc));
        await loadMessages({ announceNew: false });
      } finally {
        replyInput.focus();
      }
    });
  });

  function scheduleReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => {
      loadConversations();
      loadMessages({ announceNew: true });
    }, 40);
  }

  /** Show what an event says at once (no round trip); the reload that follows reconciles with the server. */
  function applyEvent(event) {
    const d = event.data || {};
    if (!d.conversation_id || (d.peer && d.peer.kind === "channel")) return;
    const message = { ...d, id: d.message_id, conversation_id: d.conversation_id };
    let conversation = conversations.find((c) => String(c.id) === String(d.conversation_id));
    if (!conversation && event.type === "message.received") {
      conversation = { id: d.conversation_id, phone: event.profile, peer_id: d.peer?.id, title: d.peer?.title,
        username: d.peer?.username, unread_count: 0, last_message_at: null };
      conversations.push(conversation);
    }
    if (conversation && (event.type === "message.received" || event.type === "message.sent")) {
      const isOpen = String(d.conversation_id) === String(openId);
      if (event.type === "message.received" && !isOpen) conversation.unread_count = (conversation.unread_count || 0) + 1;
      conversation.last_message_at = d.date || conversation.last_message_at;
      conversation.last_message = message;
      renderConversations();
      if (isOpen && !knownMessageIds.has(String(message.id))) {
        const empty = messagesEl.querySelector(".empty");
        if (empty) empty.remove();
        knownMessageIds.add(String(message.id));
        messagesEl.append(messageItem(message));
        messagesEl.scrollTop = messagesEl.scrollHeight;
        if (event.type === "message.received") {
          announce(`New message from ${d.sender_name || titleOf(conversation)}: ${d.text || ""}`);
        }
      }
    }
  }

  const unsubscribe = live.subscribe((event) => {
    if (MESSAGE_EVENTS.has(event.type) && !(event.data && event.data.channel_id)) {
      applyEvent(event);
      scheduleReload();
    }
    else if (event.type === "profile.status_changed") loadProfiles().then(renderConversations);
    else if (event.type === "resync") loadProfiles().then(scheduleReload);
  });

  loadProfiles().then(loadConversations);
  return {
    destroy() {
      clearTimeout(reloadTimer);
      unsubscribe();
    },
  };
}
