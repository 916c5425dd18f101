// Profiles: the list with live status, binding by phone -> code -> 2FA password, session import, on/off, delete.

import { api } from "../api.js";
import { announce, badge, busy, field, h, messageArea, replace, timeEl } from "../dom.js";
import { describe } from "../errors.js";
import * as live from "../live.js";

const STATUS_WORDS = {
  active: "active",
  inactive: "inactive (switched off)",
  banned: "banned by Telegram",
  deauthorized: "signed out by Telegram",
  limited: "limited by Telegram (spam: writes to mutual contacts only)",
  frozen: "frozen by Telegram (reads only)",
  proxy_failed: "its proxy does not reach Telegram",
};

const HEALTH_WORDS = {
  ok: "healthy",
  spam_limited: "spam-limited",
  frozen: "frozen",
  banned: "banned",
  deauthorized: "signed out",
  unreachable: "unreachable",
};

// The last periodic account check (health, health_checked_at); nothing before the first one.
function healthBadge(profile) {
  if (!profile.health) return null;
  const label = `health: ${HEALTH_WORDS[profile.health] || profile.health}`;
  return h("div", { class: "small health", dataset: { health: profile.health } },
    badge(profile.health, label), " ", profile.health_checked_at ? timeEl(profile.health_checked_at) : null);
}

function frozenNote(profile) {
  return h("div", { class: "muted small" },
    profile.frozen_until ? h("span", {}, "deleted unless appealed by ", timeEl(profile.frozen_until), " ") : null,
    profile.appeal_url ? h("a", { href: profile.appeal_url, rel: "noopener noreferrer", target: "_blank", text: "appeal" }) : null,
  );
}

export function profileName(profile) {
  const tg = profile.telegram || {};
  const name = [tg.first_name, tg.last_name].filter(Boolean).join(" ");
  return profile.label || name || (tg.username ? `@${tg.username}` : profile.phone);
}

export function profilesPage(root) {
  const listBody = h("div", { class: "profiles-list", "aria-busy": "true" });
  const status = messageArea();
  const bind = bindForm(() => load());
  const importer = importForm(() => load());

  root.append(
    h("h1", { text: "Profiles" }),
    h("p", { class: "lead", text: "The Telegram accounts this service uses on your behalf." }),
    h("section", { class: "card", "aria-labelledby": "profiles-list-title" },
      h("h2", { id: "profiles-list-title", text: "Your profiles" }),
      status.el,
      listBody,
    ),
    h("div", { class: "two-col" }, bind.el, importer.el),
  );

  async function load() {
    try {
      const profiles = await api("GET", "/profiles");
      renderList(profiles);
    } catch (exc) {
      status.error(describe(exc));
    } finally {
      listBody.setAttribute("aria-busy", "false");
    }
  }

  function renderList(profiles) {
    if (!profiles.length) {
      replace(listBody, h("p", { class: "empty", text: "No profiles yet. Connect one below." }));
      return;
    }
    const rows = profiles.map((p) => profileRow(p));
    replace(
      listBody,
      h("table", { class: "table" },
        h("caption", { class: "sr-only", text: "Profiles with their status" }),
        h("thead", {}, h("tr", {},
          ["Profile", "Phone", "Status", "Channels", "Last active", "Actions"].map((t) => h("th", { scope: "col", text: t })),
        )),
        h("tbody", {}, rows),
      ),
    );
  }

  function profileRow(p) {
    const tg = p.telegram || {};
    const toggle = h("button", {
      type: "button",
      text: p.is_active ? "Deactivate" : "Activate",
      "aria-label": `${p.is_active ? "Deactivate" : "Activate"} ${p.phone}`,
    });
    toggle.addEventListener("click", () =>
      busy(toggle, async () => {
        try {
          await api("PATCH", `/profiles/${encodeURIComponent(p.phone)}`, { json: { is_active: !p.is_active } });
          announce(`${p.phone} ${p.is_active ? "deactivated" : "activated"}`);
          await load();
        } catch (exc) {
          status.error(describe(exc));
        }
      }),
    );
    const remove = h("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete ${p.phone}` });
    remove.addEventListener("click", () => {
      if (!window.confirm(`Delete ${p.phone}? The session is logged out at Telegram.`)) return;
      busy(remove, async () => {
        try {
          await api("DELETE", `/profiles/${encodeURIComponent(p.phone)}`);
          announce(`${p.phone} deleted`);
          await load();
        } catch (exc) {
          status.error(describe(exc));
        }
      });
    });
    return h("tr", { dataset: { phone: p.phone } },
      h("th", { scope: "row" },
        h("span", { class: "strong", text: profileName(p) }),
        tg.username ? h("span", { class: "muted", text: ` @${tg.username}` }) : null,
      ),
      h("td", { "data-label": "Phone", text: p.phone }),
      h("td", { "data-label": "Status" }, badge(p.status, STATUS_WORDS[p.status] || p.status),
        p.status_reason ? h("div", { class: "muted small", text: p.status_reason }) : null,
        p.status === "frozen" ? frozenNote(p) : null,
        healthBadge(p)),
      h("td", { "data-label": "Channels", text: `${p.channel_count} / ${p.max_channels}` }),
      h("td", { "data-label": "Last active" }, timeEl(p.last_active_at)),
      h("td", { class: "actions" }, toggle, remove),
    );
  }

  const unsubscribe = live.subscribe((event) => {
    if (event.type === "profile.status_changed" || event.type === "profile.health_changed" || event.type === "resync") {
      load();
      if (event.type === "profile.status_changed" && event.data) {
        announce(`Profile ${event.profile || ""} is now ${event.data.to}`);
      }
    }
  });
  load();
  return { destroy: unsubscribe };
}

/** Phone -> code -> (2FA password) as one form whose fields follow the step. */
function bindForm(onBound) {
  const msg = messageArea();
  const phone = field("Phone number", { type: "tel", autocomplete: "tel", placeholder: "+15551234567", required: true,
    hint: "International form with the country code." });
  const label = field("Label (optional)", { type: "text", maxlength: 100 });
  const code = field("Login code", { type: "text", inputmode: "numeric", autocomplete: "one-time-code",
    hint: "The code Telegram sent to the account's apps." });
  const password = field("Two-step verification password", { type: "password", autocomplete: "current-password" });
  const submit = h("button", { type: "submit", class: "primary", text: "Send code" });
  const restart = h("button", { type: "button", text: "Start again", hidden: true });
  const stepText = h("p", { class: "step", "aria-live": "polite" });
  const form = h("form", { class: "card", novalidate: true, "aria-labelledby": "bind-title" },
    h("h2", { id: "bind-title", text: "Connect a Telegram account" }),
    stepText, phone.wrap, label.wrap, code.wrap, password.wrap, msg.el,
    h("div", { class: "row" }, submit, restart),
  );
  let step = "phone";
  let currentPhone = "";

  function setStep(next, hint) {
    step = next;
    phone.input.disabled = next !== "phone";
    label.wrap.hidden = next !== "phone";
    code.wrap.hidden = next !== "code";
    password.wrap.hidden = next !== "password";
    restart.hidden = next === "phone";
    const texts = {
      phone: ["Step 1 of 3: the phone number.", "Send code"],
      code: [`Step 2 of 3: the code sent to ${currentPhone}.`, "Verify code"],
      password: [`Step 3 of 3: this account has two-step verification${hint ? ` (hint: ${hint})` : ""}.`, "Verify password"],
    };
    stepText.textContent = texts[next][0];
    submit.textContent = texts[next][1];
    const focusTarget = { phone: phone.input, code: code.input, password: password.input }[next];
    focusTarget.focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    msg.clear();
    busy(submit, async () => {
      try {
        if (step === "phone") {
          currentPhone = phone.input.value.trim();
          if (!currentPhone) return msg.error("Enter the phone number.");
          const sent = await api("POST", "/profiles/start", {
            json: { phone: currentPhone, ...(label.input.value.trim() ? { label: label.input.value.trim() } : {}) },
          });
          code.input.value = "";
          setStep("code");
          msg.info(sentVia(sent));
        } else if (step === "code") {
          const value = code.input.value.trim();
          if (!value) return msg.error("Enter the code.");
          const result = await api("POST", "/profiles/code", { json: { phone: currentPhone, code: value } });
          finish(result);
        } else {
          const value = password.input.value;
          if (!value) return msg.error("Enter the password.");
          const result = await api("POST", "/profiles/password", { json: { phone: currentPhone, password: value } });
          finish(result);
        }
      } catch (exc) {
        msg.error(describe(exc));
        if (["login_expired", "no_login_in_progress", "PHONE_CODE_EXPIRED"].includes(exc.code)) setStep("phone");
      }
    });
  });

  function sentVia(sent) {
    const via = {
      app: "in the Telegram app of this account",
      sms: "by SMS",
      email: `by email to ${sent.email_pattern || "the account's login email"}`,
      call: "by a phone call",
    };
    return `Telegram sent the ${sent.code_length || ""}-digit code ${via[sent.code_type] || `(${sent.code_type})`}.`.replace(" -digit", "");
  }

  function finish(result) {
    if (result.status === "password_needed") {
      password.input.value = "";
      setStep("password", result.hint);
      return;
    }
    password.input.value = "";
    code.input.value = "";
    phone.input.value = "";
    label.input.value = "";
    setStep("phone");
    msg.info(`Connected ${result.profile ? result.profile.phone : currentPhone}.`);
    announce(`Profile ${currentPhone} connected`);
    onBound();
  }

  restart.addEventListener("click", () => {
    msg.clear();
    setStep("phone");
  });
  code.wrap.hidden = true;
  password.wrap.hidden = true;
  stepText.textContent = "Step 1 of 3: the phone number.";
  return { el: form };
}

/** Import a Telethon StringSession or a `.session` file. */
function importForm(onImported) {
  const msg = messageArea();
  const session = field("Session string", { rows: 3, spellcheck: "false", autocomplete: "off",
    hint: "A Telethon StringSession. Or choose a .session file below." }, "textarea");
  const file = field("Telethon .session file", { type: "file", accept: ".session" });
  const label = field("Label (optional)", { type: "text", maxlength: 100 });
  const submit = h("button", { type: "submit", class: "primary", text: "Import" });
  const form = h("form", { class: "card", novalidate: true, "aria-labelledby": "import-title" },
    h("h2", { id: "import-title", text: "Import a session" }),
    session.wrap, file.wrap, label.wrap, msg.el, h("div", { class: "row" }, submit),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    msg.clear();
    busy(submit, async () => {
      try {
        const chosen = file.input.files && file.input.files[0];
        const labelValue = label.input.value.trim();
        let profile;
        if (chosen) {
          const data = new FormData();
          data.append("file", chosen, chosen.name);
          if (labelValue) data.append("label", labelValue);
          profile = await api("POST", "/profiles/import", { form: data });
        } else {
          const value = session.input.value.trim();
          if (!value) return msg.error("Paste a session string or choose a .session file.");
          profile = await api("POST", "/profiles/import", {
            json: { session_string: value, ...(labelValue ? { label: labelValue } : {}) },
          });
        }
        form.reset();
        msg.info(`Imported ${profile.phone}.`);
        announce(`Profile ${profile.phone} imported`);
        onImported();
      } catch (exc) {
        msg.error(describe(exc));
      }
    });
  });
  return { el: form };
}
