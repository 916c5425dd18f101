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
  email_setup_required:
    "Telegram wants a login email for this number first: log in once in an official Telegram app, which asks for one, then start again.",
  login_payment_required:
    "Telegram sends this number a login code only after a purchase in an official Telegram app. Log in there, or use another number.",
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
  webhook_not_found: "This webhook no longer exists.",
  delivery_not_found: "This delivery no longer exists.",
  channel_not_found: "Channel not found: check the @username or link.",
  channel_invalid: "That is not a channel: use an @username, a t.me link, an invite link or a numeric id.",
  channel_private: "This channel is private: a profile must be invited (use its invite link).",
  CHANNEL_PRIVATE: "This channel is private: a profile must be invited (use its invite link).",
  channel_already_monitored: "This channel is already monitored.",
  not_a_channel: "That is a user or a group, not a channel.",
  no_eligible_profile: "None of your profiles can join another channel right now (all offline or full).",
  CHANNELS_TOO_MUCH: "This profile has joined as many channels as Telegram allows.",
  INVITE_HASH_INVALID: "That invite link is not valid.",
  INVITE_HASH_EXPIRED: "That invite link has expired.",
  INVITE_REQUEST_SENT: "The channel's admins must approve the join request first.",
  CHAT_WRITE_FORBIDDEN: "This profile cannot write in this chat (a broadcast channel, or writing is restricted).",
  CHAT_ADMIN_REQUIRED: "Only the chat's admins can do that.",
  USER_BANNED_IN_CHANNEL: "This profile is banned from writing in this chat.",
  peer_not_found: "That chat or user was not found for this profile.",
  profile_not_connected: "The profile is not connected right now. Check it on the Profiles page.",
  profile_not_active: "The profile is deactivated. Activate it on the Profiles page first.",
  profile_offline: "The profile is offline right now. Try again when it is back.",
  profile_unavailable: "The profile cannot be used right now. Check it on the Profiles page.",
  profile_at_capacity: "This profile already monitors as many channels as it may.",
  send_in_progress: "This message is already being sent.",
  send_rate_limited: "Sending too fast for Telegram: wait a moment and try again.",
  worker_unavailable: "No worker process is running the profile right now. Try again shortly.",
  worker_timeout: "The worker did not answer in time. Try again.",
  session_unauthorized: "Telegram signed this profile out. Connect it again on the Profiles page.",
  invalid_filter: "These filters do not fit together (e.g. a status filter on events).",
  invalid_cursor: "The list changed; start again from the first page.",
  logs_unavailable: "Logs are not available on this server (log shipping is off).",
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
