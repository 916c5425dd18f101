// API error codes in words a person can act on.

import { formatDuration } from "./dom.js";

const WORDS = {
  // Telegram login
  PHONE_NUMBER_INVALID: "That phone number is not valid. Use the international form, e.g. +15551234567.",
  PHONE_NUMBER_BANNED: "Telegram has banned this phone number.",
  PHONE_NUMBER_UNOCCUPIED: "No Telegram account uses this phone number yet. Sign up in a Telegram app first.",
  PHONE_CODE_INVALID: "That code is not right. Check the code Telegram sent and try again.",
  PHONE_CODE_EMPTY: "Enter the code Telegram sent.",
  PHONE_CODE_EXPIRED: "The code has expired. Start again to get a new one.",
  PASSWORD_HASH_INVALID: "The two-step verification password is wrong.",
  login_expired: "This login took too long and has expired. Start again to get a new code.",
  no_login_in_progress: "There is no login in progress for this phone. Start again.",
  wrong_login_step: "This login is waiting for a different step. Start again if you are unsure.",
  login_step_in_progress: "Another step of this login is still running. Wait a moment and try again.",
  login_incomplete: "Telegram did not complete the login. Start again.",
  profile_bound_elsewhere: "This Telegram account is already connected to another user of this service.",
  profile_already_bound: "This Telegram account is already one of your active profiles.",
  profile_busy: "The profile is busy in another process. Try again in a moment.",
  invalid_session: "That session is not valid or is no longer authorised.",
  telegram_unavailable: "Telegram cannot be reached right now. Try again shortly.",
  // Accounts
  invalid_credentials: "The email or the password is wrong.",
  email_taken: "An account with this email already exists. Sign in instead.",
  token_reused: "You were signed out because this login was used from somewhere else. Sign in again.",
  token_revoked: "Your session has ended. Sign in again.",
  invalid_token: "Your session has expired. Sign in again.",
  missing_token: "Sign in to continue.",
  registration_closed: "New accounts cannot be created here. Ask an administrator for an account.",
  invite_required: "Creating an account needs an invitation. Paste the token an administrator gave you.",
  invite_invalid: "That invitation is not valid: it may have expired, been revoked, been used, or be for another email.",
  setup_token_invalid: "That setup token is not valid or was already used. Use the newest one the service printed.",
  auth_busy: "The service is busy signing other people in. Try again in a moment.",
  // Webhooks, messages, channels
  invalid_webhook_url: "That URL cannot receive webhooks.",
  webhook_disabled: "This webhook is disabled. Enable it first.",
  delivery_in_flight: "This delivery is being attempted right now.",
  not_found: "It no longer exists (or was never yours).",
  network_error: "The service could not be reached. Check the connection and try again.",
};

/** The message to show for an error thrown by the API client. */
export function describe(error) {
  if (!error) return "";
  const code = error.code || "";
  if (code === "FLOOD_WAIT" || code.startsWith("FLOOD_WAIT")) {
    const wait = error.retryAfter ?? Number(code.split("_").pop());
    return `Telegram is rate-limiting this account: wait ${formatDuration(wait)} before trying again.`;
  }
  if (code === "login_throttled" || (error.status === 429 && error.retryAfter)) {
    const what = {
      login_throttled: "Too many failed sign-in attempts",
      code_requests_limited: "Too many login codes were requested",
    }[code] || "Too many requests";
    return `${what}: try again in ${formatDuration(error.retryAfter || 60)}.`;
  }
  if (WORDS[code]) {
    // Validation details from the server add what exactly was wrong.
    return code === "invalid_session" && error.message ? `${WORDS[code]} (${error.message})` : WORDS[code];
  }
  if (error.status === 422 || code === "validation_error") return `Please check the form: ${error.message}`;
  return error.message || "Something went wrong.";
}
