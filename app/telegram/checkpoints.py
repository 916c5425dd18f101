"""The update state a profile starts from: fetched from Telegram when it is bound or imported.

Stored as the profile's first checkpoint, so its first connection (by whichever worker, however much later)
catches up with getDifference from the moment of binding instead of starting from "now".
"""

from __future__ import annotations

from telethon import TelegramClient, functions

from app.telegram.updates import StoredState


async def binding_checkpoint(client: TelegramClient) -> tuple[StoredState, ...]:
    """The account's current update state (pts, qts, date, seq) through a connected, authorised client."""
    state = await client(functions.updates.GetStateRequest())
    return (StoredState(0, state.pts, state.qts, int(state.date.timestamp()), state.seq),)
