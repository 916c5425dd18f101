// Entry point: sign-in view, navigation between pages (by URL hash), the live stream's lifetime.

import * as api from "./api.js";
import { announce } from "./dom.js";
import { describe } from "./errors.js";
import * as live from "./live.js";
import { channelsPage } from "./pages/channels.js";
import { inboxPage } from "./pages/inbox.js";
import { logsPage } from "./pages/logs.js";
import { profilesPage } from "./pages/profiles.js";
import { webhooksPage } from "./pages/webhooks.js";

const PAGES = {
  inbox: { title: "Inbox", create: inboxPage },
  profiles: { title: "Profiles", create: profilesPage },
  channels: { title: "Channels", create: channelsPage },
  webhooks: { title: "Webhooks", create: webhooksPage },
  logs: { title: "Logs", create: logsPage },
};
const DEFAULT_PAGE = "inbox";

const $ = (id) => document.getElementById(id);
let current = null; // {name, page}
let registering = false;

function pageName() {
  const name = location.hash.replace(/^#/, "").split("/")[0];
  return PAGES[name] ? name : DEFAULT_PAGE;
}

function showPage(name, { focus = true } = {}) {
  if (current && current.name === name) return;
  if (current && current.page.destroy) current.page.destroy();
  const main = $("main");
  main.replaceChildren();
  const spec = PAGES[name];
  document.title = `${spec.title} · Telegram Multi-Profile`;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  current = { name, page: spec.create(main) };
  // Focus the page heading so keyboard and screen-reader users land on the new content.
  if (focus) {
    const heading = main.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }
}

function showSignedIn() {
  $("auth-view").hidden = true;
  $("app-view").hidden = false;
  $("user-email").textContent = api.currentEmail();
  live.start();
  current = null;
  showPage(pageName(), { focus: false });
}

function showSignedOut(reason) {
  live.stop();
  if (current && current.page.destroy) current.page.destroy();
  current = null;
  $("main").replaceChildren();
  $("app-view").hidden = true;
  $("auth-view").hidden = false;
  setAuthMode(false);
  $("auth-error").textContent = reason ? describe({ code: reason }) : "";
  $("auth-email").focus();
}

function setAuthMode(register) {
  registering = register;
  $("auth-title").textContent = register ? "Create an account" : "Sign in";
  $("auth-submit").textContent = register ? "Create account" : "Sign in";
  $("auth-switch").textContent = register ? "I already have an account" : "Create an account instead";
  $("auth-password").setAttribute("autocomplete", register ? "new-password" : "current-password");
  $("auth-token").hidden = !register;
  $("auth-token-label").hidden = !register;
  $("auth-error").textContent = "";
}

async function submitAuth(event) {
  event.preventDefault();
  const email = $("auth-email").value.trim();
  const password = $("auth-password").value;
  const error = $("auth-error");
  const info = $("auth-info");
  error.textContent = "";
  info.textContent = "";
  if (!email || !password) {
    error.textContent = "Enter your email and a password.";
    return;
  }
  const button = $("auth-submit");
  button.disabled = true;
  try {
    if (registering) {
      await api.register(email, password, $("auth-token").value.trim());
      info.textContent = "Account created. Signing you in…";
    }
    await api.signIn(email, password);
    $("auth-password").value = "";
    $("auth-token").value = "";
    info.textContent = "";
    showSignedIn();
    announce(`Signed in as ${email}`);
  } catch (exc) {
    error.textContent = describe(exc);
  } finally {
    button.disabled = false;
  }
}

/** On the offline sandbox, say so on every page, with the numbers that log in (nothing here reaches Telegram). */
async function showEnvironment() {
  try {
    const response = await fetch("/dashboard-environment", { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const environment = await response.json();
    if (environment.telegram !== "sandbox") return;
    for (const id of ["sandbox-banner", "auth-sandbox-banner"]) {
      const banner = $(id);
      banner.replaceChildren();
      const title = document.createElement("strong");
      title.textContent = "Sandbox";
      banner.append(title, ` — an offline Telegram for trying things out. Test numbers: ${environment.sandbox_numbers}.`);
      banner.hidden = false;
    }
  } catch {
    // The banner is a hint; without it every page still works.
  }
}

function init() {
  showEnvironment();
  $("auth-form").addEventListener("submit", submitAuth);
  $("auth-switch").addEventListener("click", () => setAuthMode(!registering));
  $("sign-out").addEventListener("click", async () => {
    await api.signOut();
    showSignedOut(null);
    announce("Signed out");
  });
  api.onSignedOut((reason) => showSignedOut(reason));
  window.addEventListener("hashchange", () => {
    if (api.isSignedIn()) showPage(pageName());
  });
  const liveState = $("live-state");
  live.onState((state) => {
    liveState.textContent = state;
    liveState.dataset.state = state;
  });
  if (api.isSignedIn()) showSignedIn();
  else showSignedOut(null);
}

init();
