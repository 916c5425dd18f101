"""Keeps each profile's peers (and the access hashes Telegram issued to it) in the database.

Every client the runtime connects is seeded with the profile's stored peers before it connects; what its session
learns afterwards is saved about once a second, every profile's new peers in one transaction (an upsert, so a
peer another process saves at the same time is no conflict). So numeric ids, failover and sends resolve with the
profile's own hash after a restart and on whichever worker owns the profile, without asking Telegram again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.mixins.uuid import uuid7
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telethon import TelegramClient

from app.db.models import KnownPeer
from app.db.shielded import ShieldedTransactions
from app.lib.tasks import running_task
from app.telegram.peers import PeerRecord, ProfileSession
from app.telegram.runtime import ProfileRuntime
from app.telegram.runtime_contract import ProfileCredentials

log = logging.getLogger(__name__)
FLUSH_INTERVAL_S = 1.0
SAVE_CHUNK = 1000  # rows per statement: 10 parameters each, under SQLite's and asyncpg's limit of 32,766
_REFRESHED = ("kind", "access_hash", "username", "title", "seen_at", "updated_at")


_PEER_COLUMNS = (
    KnownPeer.peer_id,
    KnownPeer.kind,
    KnownPeer.access_hash,
    KnownPeer.username,
    KnownPeer.title,
    KnownPeer.seen_at,
)


async def load_peers(session: AsyncSession, profile_id: UUID) -> list[PeerRecord]:
    # Columns, not ORM objects: a profile knows thousands of peers and every connect loads them all.
    rows = await session.execute(select(*_PEER_COLUMNS).where(KnownPeer.profile_id == profile_id))
    return [
        PeerRecord(peer_id, kind, hash_, name, title, seen.timestamp())
        for peer_id, kind, hash_, name, title, seen in rows
    ]


async def save_peers(session: AsyncSession, unsaved: dict[UUID, list[PeerRecord]]) -> None:
    """Insert or refresh the peers of these profiles in one upsert per chunk (the newest sighting wins)."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for profile_id, records in unsaved.items():
        newest: dict[int, PeerRecord] = {}
        for record in records:
            if record.peer_id not in newest or newest[record.peer_id].seen_at <= record.seen_at:
                newest[record.peer_id] = record
        rows.extend(
            {
                "id": uuid7(),
                "profile_id": profile_id,
                "peer_id": record.peer_id,
                "kind": record.kind,
                "access_hash": record.access_hash,
                "username": record.username,
                "title": record.title,
                "seen_at": datetime.fromtimestamp(record.seen_at, UTC),
                "created_at": now,
                "updated_at": now,
            }
            for record in newest.values()
        )
    rows.sort(key=lambda row: (str(row["profile_id"]), row["peer_id"]))  # one lock order for concurrent savers
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for first in range(0, len(rows), SAVE_CHUNK):
        statement = insert(KnownPeer).values(rows[first : first + SAVE_CHUNK])
        statement = statement.on_conflict_do_update(
            index_elements=[KnownPeer.profile_id, KnownPeer.peer_id],
            set_={name: statement.excluded[name] for name in _REFRESHED},
            where=KnownPeer.seen_at <= statement.excluded.seen_at,
        )
        await session.execute(statement)


async def _save_one(db: AsyncSession, *, profile_id: UUID, records: list[PeerRecord]) -> None:
    await save_peers(db, {profile_id: records})


class PeerBook:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], runtime: ProfileRuntime) -> None:
        self._sessionmaker = sessionmaker
        self._transactions = ShieldedTransactions(sessionmaker)  # a stopping book never cuts a save short
        self._runtime = runtime
        self._sessions: dict[UUID, ProfileSession] = {}

    def attach(self) -> None:
        self._runtime.prepare_hooks.append(self._prepare)

    def detach(self) -> None:
        with contextlib.suppress(ValueError):
            self._runtime.prepare_hooks.remove(self._prepare)

    async def _prepare(self, credentials: ProfileCredentials, client: TelegramClient) -> None:
        session = client.session
        if not isinstance(session, ProfileSession):
            return
        old = self._sessions.get(credentials.profile_id)
        if old is not None and old is not session:
            await self._save({credentials.profile_id: old.take_unsaved()})  # what the previous connection learnt last
        async with self._sessionmaker() as db:
            session.load_peers(await load_peers(db, credentials.profile_id))
        self._sessions[credentials.profile_id] = session

    async def flush(self) -> None:
        """Save what every tracked session learnt since the last flush, all profiles in one transaction."""
        supervised = set(self._runtime.supervised_ids())
        unsaved: dict[UUID, list[PeerRecord]] = {}
        for profile_id, session in list(self._sessions.items()):
            unsaved[profile_id] = session.take_unsaved()
            if profile_id not in supervised and self._sessions.get(profile_id) is session:
                del self._sessions[profile_id]
        await self._save(unsaved)

    async def _save(self, unsaved: dict[UUID, list[PeerRecord]]) -> None:
        unsaved = {profile_id: records for profile_id, records in unsaved.items() if records}
        if not unsaved:
            return
        try:
            await self._transactions.run(lambda db: save_peers(db, unsaved))
            return
        except IntegrityError:  # a profile deleted meanwhile: save the others one by one
            if len(unsaved) == 1:
                return
        except Exception as exc:
            log.warning("could not save the peers of %d profiles: %r", len(unsaved), exc)
            return
        for profile_id, records in unsaved.items():
            try:
                await self._transactions.run(functools.partial(_save_one, profile_id=profile_id, records=records))
            except IntegrityError:
                continue  # that profile is gone, and its peers with it
            except Exception as exc:
                log.warning("could not save the peers of profile %s: %r", profile_id, exc)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            await self.flush()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Seed every client the runtime connects inside the block; save on an interval and at the end."""
        self.attach()
        try:
            async with running_task(self._loop(), "peer-book"):
                yield
        finally:
            self.detach()
            await self._transactions.wait()
            await self.flush()


@contextlib.asynccontextmanager
async def running_peer_book(book: PeerBook | None) -> AsyncIterator[None]:
    if book is None:
        yield
        return
    async with book.running():
        yield
