// The HTTP API client: tokens in sessionStorage, one transparent refresh on 401, errors as ApiError.

const STORAGE_KEY = "tgmp.tokens";

export class ApiError extends Error {
  constructor(status, code, message, { details = null, retryAfter = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

let tokens = loadTokens();
let refreshing = null;
const signOutListeners = [];

function loadTokens() {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function storeTokens(pair) {
  tokens = pair ? { access: pair.access_token, refresh: pair.refresh_token, email: pair.email || tokens?.email } : null;
  if (tokens) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(tokens));
  else sessionStorage.removeItem(STORAGE_KEY);
}

export function isSignedIn() {
  return Boolean(tokens && tokens.access);
}

export function currentEmail() {
  return tokens?.email || "";
}

export function accessToken() {
  return tokens?.access || null;
}

/** Called with a reason when the session ends without the user asking (revoked, reused refresh token). */
export function onSignedOut(listener) {
  signOutListeners.push(listener);
}

function forceSignOut(reason) {
  if (!tokens) return;
  storeTokens(null);
  for (const listener of signOutListeners) listener(reason);
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = body && body.error ? body.error : {};
  const retry = response.headers.get("Retry-After");
  return new ApiError(
    response.status,
    error.code || `http_${response.status}`,
    error.message || response.statusText || "request failed",
    { details: error.details ?? null, retryAfter: retry ? Number(retry) : null },
  );
}

async function rawFetch(method, path, { json, form, query, token } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // FormData: the browser sets the multipart boundary
  }
  try {
    return await fetch(url, { method, headers, body, credentials: "omit", cache: "no-store" });
  } catch (exc) {
    throw new ApiError(0, "network_error", `the service could not be reached (${exc.message})`);
  }
}

/**
 * Rotate the refresh token, once at a time: concurrent 401s share one refresh, because presenting the same
 * refresh token twice would revoke the whole login.
 */
export function refreshTokens() {
  if (!refreshing) {
    const presented = tokens?.refresh;
    refreshing = (async () => {
      if (!presented) return false;
      const response = await rawFetch("POST", "/refresh", { json: { refresh_token: presented } });
      if (response.ok) {
        storeTokens(await response.json());
        return true;
      }
      const error = await errorFrom(response);
      if (response.status === 401) forceSignOut(error.code);
      else throw error;
      return false;
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function parse(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

/** Call the API as the signed-in user; a 401 refreshes the tokens once and retries. */
export async function api(method, path, options = {}) {
  const used = tokens?.access;
  let response = await rawFetch(method, path, { ...options, token: used });
  if (response.status === 401 && tokens) {
    // Another request may already have rotated the tokens while this one was in flight.
    const fresh = tokens.access !== used || (await refreshTokens());
    if (fresh && tokens) response = await rawFetch(method, path, { ...options, token: tokens.access });
  }
  if (!response.ok) throw await errorFrom(response);
  return parse(response);
}

/** Create an account; `token` is an admin's invitation (inv_…) or the one-time setup token (setup_…). */
export async function register(email, password, token = "") {
  const json = { email, password };
  if (token.startsWith("setup_")) json.setup_token = token;
  else if (token) json.invite_token = token;
  const response = await rawFetch("POST", "/auth/register", { json });
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

export async function signIn(email, password) {
  const response = await rawFetch("POST", "/auth/login", { json: { email, password } });
  if (!response.ok) throw await errorFrom(response);
  storeTokens({ ...(await response.json()), email });
}

export async function signOut() {
  const current = tokens;
  storeTokens(null);
  if (!current) return;
  // Best effort: the server revokes the login family and the access token.
  await rawFetch("POST", "/logout", { json: { refresh_token: current.refresh }, token: current.access }).catch(() => {});
}
