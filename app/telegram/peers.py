"""The peers a profile has seen, with the access hashes Telegram issued to that account.

Telegram's access hashes are per (account, peer): a hash is valid only for the account it was given to, and 0 is
refused. Telethon learns hashes from every answer (`Session.process_entities`) but a `StringSession` keeps them
in memory only, so after a restart, or on another worker, a numeric id could not be used any more.
`ProfileSession` records every entity it is told about as a `PeerRecord`; `PeerBook` (app.telegram.peerbook)
saves those records per profile and loads them into the next session of that profile, so Telethon's own
`get_input_entity()` finds the profile's own hash wherever the profile connects. The records are the session's
only entity cache (Telethon's own set of rows would hold every peer a second time, and scans it for each lookup
by id): lookups by id are one dict read, a peer seen anew replaces its record.

Usernames are answered from the records for `username_ttl_s` only (Telethon's cache never forgets): a username
can move to another peer, so an older entry is resolved again. A sighting that changes nothing but `seen_at` is
kept (and saved) only once the known one is a tenth of that TTL old, at most an hour: every update and every
account check re-sends the same users, and re-saving them would cost a database write per profile per minute.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from telethon import types, utils
from telethon.sessions import StringSession

SEEN_REFRESH_MAX_S = 3600.0  # the most a stored `seen_at` lags the last sighting of an unchanged peer


@dataclass(frozen=True, slots=True)
class PeerRecord:
    peer_id: int  # marked: users > 0, basic groups < 0, channels -100...
    kind: str  # user | group | channel (megagroups are groups)
    access_hash: int | None  # None for basic groups, which need none
    username: str | None  # lower case
    title: str | None
    seen_at: float  # unix time of the Telegram answer that carried the entity

    def input_peer(self) -> types.TypeInputPeer:
        real_id, peer_type = utils.resolve_id(self.peer_id)
        if peer_type is types.PeerChat:
            return types.InputPeerChat(real_id)
        if peer_type is types.PeerChannel:
            return types.InputPeerChannel(real_id, self.access_hash or 0)
        return types.InputPeerUser(real_id, self.access_hash or 0)


def peer_kind(entity: Any) -> str:
    if isinstance(entity, types.Channel | types.ChannelForbidden):
        # As app.telegram.records.chat_kind: a supergroup numbers its messages apart from the account's box.
        return "supergroup" if getattr(entity, "megagroup", False) or getattr(entity, "gigagroup", False) else "channel"
    if isinstance(entity, types.Chat | types.ChatForbidden):
        return "group"
    return "user"


def _details(record: PeerRecord) -> tuple[str, int | None, str | None, str | None]:
    return record.kind, record.access_hash, record.username, record.title


class ProfileSession(StringSession):
    """A StringSession that turns every entity Telethon processes into a `PeerRecord` (and can be seeded)."""

    def __init__(self, string: str | None = None, *, username_ttl_s: float = 86_400.0) -> None:
        super().__init__(string)
        self.username_ttl_s = username_ttl_s
        self.seen_refresh_s = min(SEEN_REFRESH_MAX_S, username_ttl_s / 10)
        self.peers: dict[int, PeerRecord] = {}
        self._unsaved: dict[int, PeerRecord] = {}
        self._phones: dict[str, int] = {}  # the phone numbers answers showed (never stored): peer id by phone

    def _entity_to_row(self, e: Any) -> Any:
        row = super()._entity_to_row(e)
        if row is not None:
            peer_id, access_hash, username, phone, title = row
            if phone:
                self._phones[phone] = peer_id
            record = PeerRecord(peer_id, peer_kind(e), access_hash or None, username, title, time.time())
            known = self.peers.get(peer_id)
            # Every update re-sends its sender: keep a sighting only when something changed, or the known one is old.
            if (
                known is None
                or _details(known) != _details(record)
                or record.seen_at - known.seen_at > self.seen_refresh_s
            ):
                self.peers[peer_id] = record
                self._unsaved[peer_id] = record
        return row

    def load_peers(self, records: Iterable[PeerRecord]) -> None:
        """Seed with stored records (not marked unsaved); newer records already seen win."""
        for record in records:
            known = self.peers.get(record.peer_id)
            if known is None or known.seen_at < record.seen_at:
                self.peers[record.peer_id] = record

    def process_entities(self, tlo: Any) -> None:
        self._entities_to_rows(tlo)  # each entity becomes a record (_entity_to_row); no second copy as rows

    def take_unsaved(self) -> list[PeerRecord]:
        unsaved, self._unsaved = list(self._unsaved.values()), {}
        return unsaved

    def fresh_username(self, username: str, now: float | None = None) -> PeerRecord | None:
        """The peer that had `username` in an answer younger than the TTL, if any."""
        name = username.lower().lstrip("@")
        horizon = (time.time() if now is None else now) - self.username_ttl_s
        found = [r for r in self.peers.values() if r.username == name and r.seen_at > horizon]
        return max(found, key=lambda r: r.seen_at, default=None)

    def get_entity_rows_by_username(self, username: str) -> tuple[int, int] | None:
        # Telethon's own lookups by username (get_input_entity('name')) obey the TTL too.
        record = self.fresh_username(username)
        return (record.peer_id, record.access_hash or 0) if record is not None else None

    def get_entity_rows_by_id(self, id: int, exact: bool = True) -> tuple[int, int] | None:
        marked = (
            [id]
            if exact
            else [utils.get_peer_id(kind(id)) for kind in (types.PeerUser, types.PeerChat, types.PeerChannel)]
        )
        for peer_id in marked:
            record = self.peers.get(peer_id)
            if record is not None:
                return record.peer_id, record.access_hash or 0
        return None

    def get_entity_rows_by_phone(self, phone: str) -> tuple[int, int] | None:
        peer_id = self._phones.get(phone)
        return None if peer_id is None else self.get_entity_rows_by_id(peer_id)

    def get_entity_rows_by_name(self, name: str) -> tuple[int, int] | None:
        record = next((r for r in self.peers.values() if r.title == name), None)
        return (record.peer_id, record.access_hash or 0) if record is not None else None
