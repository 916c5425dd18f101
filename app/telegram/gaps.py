"""Noticing gaps Telegram will not replay.

Telegram answers `updates.differenceTooLong` (account) or `updates.channelDifferenceTooLong` (one channel or
supergroup) when a client is too far behind, and then delivers nothing of the gap. Telethon's MessageBox takes
the new pts and moves on silently (`apply_difference` / `apply_channel_difference`: "nothing is returned"), so
the service would lose those messages. `GapAwareClient` is Telethon's client with one addition: it tells its
listeners about every TooLong answer, so the service can read the gap from history instead
(app.domain.messages.gaps). An `updatesTooLong` push makes Telethon call getDifference, so it arrives here too
whenever Telegram cannot replay what it dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telethon import TelegramClient, types

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GapNotice:
    channel_id: int | None  # bare channel id; None: the account's own message box (private chats, basic groups)


GapListener = Callable[[GapNotice], None]


class GapAwareClient(TelegramClient):
    """A TelegramClient that reports TooLong differences to `gap_listeners` (called synchronously, must not block)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gap_listeners: list[GapListener] = []
        # The connect-time catch-up can answer TooLong before anyone listens: kept for the first listener.
        self._unheard: list[GapNotice] = []

    def listen(self, listener: GapListener) -> None:
        """Add a listener; it hears at once what was noticed while nobody listened."""
        self.gap_listeners.append(listener)
        unheard, self._unheard = self._unheard, []
        for notice in unheard:
            self._tell(notice)

    async def __call__(self, request: Any, ordered: bool = False, flood_sleep_threshold: int | None = None) -> Any:
        result = await super().__call__(request, ordered=ordered, flood_sleep_threshold=flood_sleep_threshold)
        if isinstance(result, types.updates.ChannelDifferenceTooLong):
            self._tell(GapNotice(getattr(request.channel, "channel_id", None)))
        elif isinstance(result, types.updates.DifferenceTooLong):
            self._tell(GapNotice(None))
        return result

    def _tell(self, notice: GapNotice) -> None:
        if not self.gap_listeners:
            if notice not in self._unheard:
                self._unheard.append(notice)
            return
        for listener in list(self.gap_listeners):
            try:
                listener(notice)
            except Exception:
                log.exception("a gap listener failed")
