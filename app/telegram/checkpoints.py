"""Update-state checkpoints, behind one seam: what a client's state is, where a client resumes, where a profile starts.

Telethon's `StringSession` keeps no update state, and Telethon saves it only now and then, so the service keeps
each profile's (pts, qts, date, seq and per-channel pts) in its own database. Three operations touch it:
- `snapshot(client)`: the client's MessageBox state now (None while an update it covers is still being
  dispatched); the feed (app.telegram.updates) hands it to the writer behind the messages it covers.
- `resume(client, states)`: a not yet connected client starts from the stored state (`catch_up=True` then
  fetches the difference).
- `binding_checkpoint(client)`: the account's state when a profile is bound or imported, its first checkpoint:
  the account's (pts, qts, date, seq) and the pts of each channel and supergroup it is in. Telegram keeps one
  pts per channel and replays a channel's updates only from a pts the client holds; a MessageBox that meets a
  channel for the first time takes that update's pts as its start, so without the pts at binding whatever the
  channel got between binding and the first live update would never be fetched.
The Telethon internals read here live in app.telegram.internals (pinned by a test against the installed Telethon).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from telethon import TelegramClient, functions, types

from app.telegram import internals


@dataclass(frozen=True, slots=True)
class StoredState:
    """One row of update state: entity 0 is the account, others are channel ids (bare, as Telethon keys them)."""

    entity_id: int
    pts: int
    qts: int = 0
    date: int = 0
    seq: int = 0
    access_hash: int | None = None


def snapshot(client: TelegramClient) -> tuple[StoredState, ...] | None:
    """The client's MessageBox state, or None while Telethon still dispatches updates it covers (or holds none)."""
    if internals.dispatching(client):
        return None
    state = internals.message_box_state(client)
    if state is None or not state[0]["pts"]:
        return None
    account, channels = state
    states = [StoredState(0, account["pts"], account["qts"] or 0, internals.account_date(account), account["seq"] or 0)]
    for channel_id, pts in sorted(channels.items()):
        states.append(StoredState(channel_id, pts, access_hash=internals.channel_access_hash(client, channel_id)))
    return tuple(states)


def resume(client: TelegramClient, states: list[StoredState]) -> None:
    """Seed a not yet connected client's session with stored state, so `connect()` resumes from it."""
    session: Any = client.session
    for state in states:
        if state.entity_id == 0:
            moment = datetime.fromtimestamp(state.date, UTC)
            session.set_update_state(0, types.updates.State(state.pts, state.qts, moment, state.seq, unread_count=0))
        elif state.access_hash is not None:
            session.process_entities(
                types.contacts.ResolvedPeer(None, [types.InputPeerChannel(state.entity_id, state.access_hash)], [])
            )
            now = datetime.now(UTC)
            session.set_update_state(state.entity_id, types.updates.State(state.pts, 0, now, 0, unread_count=0))


# Dialogs read at binding for their channels' pts. Channels beyond them (rare: the most recently active dialogs
# come first) are caught up at the first connection by the gap recovery's history reads (app.domain.messages.gaps).
BINDING_DIALOGS = 500


async def binding_checkpoint(client: TelegramClient) -> tuple[StoredState, ...]:
    """The account's current update state and its channels' pts, through a connected, authorised client."""
    state = await client(functions.updates.GetStateRequest())
    account = StoredState(0, state.pts, state.qts, int(state.date.timestamp()), state.seq)
    return (account, *await channel_states(client))


async def channel_states(client: TelegramClient, limit: int = BINDING_DIALOGS) -> list[StoredState]:
    """Each channel and supergroup among the account's newest `limit` dialogs: its pts (`Dialog.pts`) and the
    account's access hash for it, so a later connection can ask `getChannelDifference` from there."""
    states: dict[int, StoredState] = {}
    async for dialog in client.iter_dialogs(limit=limit):
        raw, entity = dialog.dialog, dialog.entity
        if not isinstance(raw.peer, types.PeerChannel) or not raw.pts or not isinstance(entity, types.Channel):
            continue
        if entity.access_hash is not None:
            states.setdefault(entity.id, StoredState(entity.id, raw.pts, access_hash=entity.access_hash))
    return sorted(states.values(), key=lambda s: s.entity_id)
