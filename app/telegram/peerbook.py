"""Keeps each profile's peers (and the access hashes Telegram issued to it) in the database.

Every client the runtime connects is seeded with the profile's stored peers before it connects; what its session
learns afterwards is saved about once a second. So numeric ids, failover and sends resolve with the profile's own
hash after a restart and on whichever worker owns the profile, without asking Telegram again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import select
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


async def save_peers(session: AsyncSession, profile_id: UUID, records: list[PeerRecord]) -> None:
    """Insert or refresh these peers of one profile (the newest sighting wins)."""
    newest: dict[int, PeerRecord] = {}
    for record in records:
        if record.peer_id not in newest or newest[record.peer_id].seen_at <= record.seen_at:
            newest[record.peer_id] = record
    existing = {
        row.peer_id: row
        for row in await session.scalars(
            select(KnownPeer).where(KnownPeer.profile_id == profile_id, KnownPeer.peer_id.in_(list(newest)))
        )
    }
    for record in newest.values():
        seen_at = datetime.fromtimestamp(record.seen_at, UTC)
        row = existing.get(record.peer_id)
        if row is None:
            session.add(
                KnownPeer(
                    profile_id=profile_id,
                    peer_id=record.peer_id,
                    kind=record.kind,
                    access_hash=record.access_hash,
                    username=record.username,
                    title=record.title,
                    seen_at=seen_at,
                )
            )
        elif row.seen_at <= seen_at:
            row.kind, row.access_hash, row.username = record.kind, record.access_hash, record.username
            row.title, row.seen_at = record.title, seen_at


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
            await self._save(credentials.profile_id, old)  # what the previous connection learnt last
        async with self._sessionmaker() as db:
            session.load_peers(await load_peers(db, credentials.profile_id))
        self._sessions[credentials.profile_id] = session

    async def flush(self) -> None:
        """Save what every tracked session learnt since the last flush."""
        supervised = set(self._runtime.supervised_ids())
        for profile_id, session in list(self._sessions.items()):
            await self._save(profile_id, session)
            if profile_id not in supervised and self._sessions.get(profile_id) is session:
                del self._sessions[profile_id]

    async def _save(self, profile_id: UUID, session: ProfileSession) -> None:
        records = session.take_unsaved()
        if not records:
            return
        for attempt in range(3):
            try:
                await self._transactions.run(lambda db: save_peers(db, profile_id, records))
                return
            except IntegrityError:  # a deleted profile, or another process saving the same peer right now
                await asyncio.sleep(0.05 * (attempt + 1))
            except Exception as exc:
                log.warning("could not save the peers of profile %s: %r", profile_id, exc)
                break

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
