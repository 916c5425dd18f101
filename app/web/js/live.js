// The live event stream (WS /events): token as the `bearer` subprotocol (never in the URL, which is logged),
// reconnect with backoff, and replay with `?since=<last event id>` so nothing is missed across a blip.

import { accessToken, refreshTokens } from "./api.js";

const CLOSE_BAD_REQUEST = 4400;
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_TOO_SLOW = 4408;
const CLOSE_REPLAY_LIMIT = 4409;
const SILENCE_LIMIT_MS = 90_000; // the server sends a heartbeat every ~25 s

const listeners = new Set();
const stateListeners = new Set();
let socket = null;
let lastEventId = null;
let running = false;
let attempt = 0;
let retryTimer = null;
let silenceTimer = null;
let state = "offline";

/** fn(envelope) for every event; fn({type: "resync"}) when events may have been missed and pages should reload. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function onState(fn) {
  stateListeners.add(fn);
  fn(state);
  return () => stateListeners.delete(fn);
}

export function lastId() {
  return lastEventId;
}

function setState(next) {
  state = next;
  for (const fn of stateListeners) fn(next);
}

function dispatch(event) {
  for (const fn of listeners) {
    try {
      fn(event);
    } catch (exc) {
      console.error("event listener failed", exc);
    }
  }
}

function url() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = lastEventId ? `?since=${encodeURIComponent(lastEventId)}` : "";
  return `${scheme}//${location.host}/events${query}`;
}

function armSilenceTimer() {
  clearTimeout(silenceTimer);
  silenceTimer = setTimeout(() => socket && socket.close(4000, "silent too long"), SILENCE_LIMIT_MS);
}

function connect() {
  const token = accessToken();
  if (!running || !token) return;
  setState(attempt === 0 ? "connecting" : "reconnecting");
  const ws = new WebSocket(url(), ["bearer", token]);
  socket = ws;
  let opened = false;
  ws.addEventListener("open", () => {
    opened = true;
    armSilenceTimer();
  });
  ws.addEventListener("message", (message) => {
    armSilenceTimer();
    if (attempt !== 0 || state !== "live") {
      attempt = 0;
      setState("live");
    }
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (!event || event.type === "heartbeat") return;
    if (event.id) lastEventId = event.id;
    dispatch(event);
  });
  ws.addEventListener("close", (close) => {
    clearTimeout(silenceTimer);
    if (socket === ws) socket = null;
    if (!running) return;
    handleClose(close.code, opened);
  });
  // The server sends nothing until an event or a heartbeat: treat an accepted socket as live at once.
  ws.addEventListener("open", () => setTimeout(() => socket === ws && ws.readyState === 1 && setState("live"), 150));
}

async function handleClose(code, opened) {
  if (code === CLOSE_UNAUTHORIZED) {
    const refreshed = await refreshTokens().catch(() => false);
    if (!refreshed) {
      stop();
      return;
    }
    reconnectSoon(0);
    return;
  }
  if (code === CLOSE_BAD_REQUEST && lastEventId) {
    // A cursor the server cannot use: start afresh and let the pages reload what they show.
    lastEventId = null;
    dispatch({ type: "resync" });
    reconnectSoon(0);
    return;
  }
  if (code === CLOSE_TOO_SLOW || code === CLOSE_REPLAY_LIMIT) {
    reconnectSoon(0);
    return;
  }
  if (!lastEventId && opened) {
    // Nothing to replay from: pages reload their data once the stream is back.
    setTimeout(() => dispatch({ type: "resync" }), 0);
  }
  attempt += 1;
  reconnectSoon(Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)) * (0.75 + Math.random() / 2));
}

function reconnectSoon(delay) {
  setState("reconnecting");
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay);
}

export function start() {
  if (running) return;
  running = true;
  attempt = 0;
  connect();
}

export function stop() {
  running = false;
  clearTimeout(retryTimer);
  clearTimeout(silenceTimer);
  lastEventId = null;
  if (socket) socket.close(1000, "signed out");
  socket = null;
  setState("offline");
}

/** Drop the connection as a network blip would (used by tests and the "reconnect" button). */
export function reconnectNow() {
  if (socket) socket.close(4000, "reconnect");
  else if (running) reconnectSoon(0);
}
