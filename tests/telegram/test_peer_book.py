"""The peer cache of a profile's session and its saves: unchanged re-sightings are not written again, every
profile's new peers go in one upsert (newest sighting wins), lookups by id answer from the records."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from telethon import types, utils

from app.db.models import KnownPeer, TelegramProfile, User
from app.telegram.peerbook import SAVE_CHUNK, load_peers, save_peers
from app.telegram.peers import PeerRecord, ProfileSession

pytestmark = pytest.mark.asyncio


def _user(user_id: int, access_hash: int, username: str | None = None, first_name: str = "Ann") -> types.User:
    return types.User(id=user_id, access_hash=access_hash, username=username, first_name=first_name)


def _seen(session: ProfileSession, *users: types.User) -> None:
    session.process_entities(types.contacts.ResolvedPeer(peer=types.PeerUser(users[0].id), chats=[], users=list(users)))


def test_an_unchanged_peer_seen_again_is_not_saved_again():
    session = ProfileSession(username_ttl_s=86_400)
    _seen(session, _user(11, 111, "ann"))
    assert [r.peer_id for r in session.take_unsaved()] == [11]
    _seen(session, _user(11, 111, "ann"))  # the same user in the next update: only its sighting is newer
    assert session.take_unsaved() == []
    _seen(session, _user(11, 111, "ann_new"))  # a new username is a change
    assert [r.username for r in session.take_unsaved()] == ["ann_new"]
    _seen(session, _user(11, 222, "ann_new"))  # so is a new access hash
    assert [r.access_hash for r in session.take_unsaved()] == [222]


def test_an_unchanged_peer_is_saved_again_once_its_sighting_is_old():
    session = ProfileSession(username_ttl_s=86_400)
    assert session.seen_refresh_s == 3600  # a tenth of the username TTL, at most an hour
    old = time.time() - 2 * session.seen_refresh_s
    session.load_peers([PeerRecord(11, "user", 111, "ann", "Ann", old)])
    _seen(session, _user(11, 111, "ann"))
    refreshed = session.take_unsaved()
    assert [r.peer_id for r in refreshed] == [11]
    assert refreshed[0].seen_at > old
    assert ProfileSession(username_ttl_s=600).seen_refresh_s == 60  # a short TTL keeps sightings fresher


def test_lookups_answer_from_the_records_by_id_phone_and_name():
    session = ProfileSession()
    channel_id = utils.get_peer_id(types.PeerChannel(777))
    ann = PeerRecord(11, "user", 111, "ann", "Ann", time.time())
    session.load_peers([ann, PeerRecord(channel_id, "channel", 999, None, "News", 0)])
    _seen(session, types.User(id=12, access_hash=121, first_name="Bob", phone="4470000012"))
    assert session.get_input_entity(11) == types.InputPeerUser(11, 111)
    assert session.get_input_entity(channel_id) == types.InputPeerChannel(777, 999)
    assert session.get_entity_rows_by_id(777, exact=False) == (channel_id, 999)
    assert session.get_input_entity("+4470000012") == types.InputPeerUser(12, 121)
    assert session.get_input_entity("News") == types.InputPeerChannel(777, 999)
    assert session.get_input_entity("ann") == types.InputPeerUser(11, 111)
    with pytest.raises(ValueError, match="Could not find input entity"):
        session.get_input_entity(13)
    assert not session._entities  # no second copy of the peers as Telethon rows


async def _profiles(app, count: int) -> list[uuid.UUID]:
    async with app.state.ctx.sessionmaker.begin() as db:
        owner = User(email=f"peers-{uuid.uuid4().hex[:8]}@example.com", password_hash="-", role="user")
        db.add(owner)
        await db.flush()
        profiles = [
            TelegramProfile(
                owner_id=owner.id,
                phone=f"+99960{n:05d}",
                api_id=1,
                api_hash_encrypted="-",
                session_encrypted="-",
                is_active=False,
            )
            for n in range(count)
        ]
        db.add_all(profiles)
        await db.flush()
        return [profile.id for profile in profiles]


async def test_one_upsert_saves_every_profiles_peers_and_the_newest_sighting_wins(app):
    first, second = await _profiles(app, 2)
    now = time.time()
    sessionmaker = app.state.ctx.sessionmaker
    async with sessionmaker.begin() as db:
        await save_peers(
            db,
            {
                first: [PeerRecord(11, "user", 111, "ann", "An", now - 9), PeerRecord(11, "user", 112, None, "A", now)],
                second: [PeerRecord(11, "user", 211, None, "Ann", now)],  # the same peer, this profile's own hash
            },
        )
    async with sessionmaker.begin() as db:
        # An older sighting saved later (another worker's late flush) does not overwrite the newer one.
        await save_peers(db, {first: [PeerRecord(11, "user", 999, "stale", "Old", now - 60)]})
        await save_peers(db, {second: [PeerRecord(11, "user", 212, "ann", "Ann", now + 1)]})
    async with sessionmaker() as db:
        stored = {p: {r.peer_id: r for r in await load_peers(db, p)} for p in (first, second)}
        rows = (await db.scalars(select(KnownPeer).where(KnownPeer.profile_id.in_([first, second])))).all()
    assert (stored[first][11].access_hash, stored[first][11].title) == (112, "A")
    assert (stored[second][11].access_hash, stored[second][11].username) == (212, "ann")
    assert len(rows) == 2
    assert len({row.id for row in rows}) == 2
    assert all(row.created_at <= datetime.now(UTC) for row in rows)


async def test_a_save_larger_than_one_statement(app):
    (profile,) = await _profiles(app, 1)
    now = time.time()
    records = [PeerRecord(1000 + n, "user", n + 1, None, f"U{n}", now) for n in range(SAVE_CHUNK + 5)]
    async with app.state.ctx.sessionmaker.begin() as db:
        await save_peers(db, {profile: records})
    async with app.state.ctx.sessionmaker() as db:
        assert len(await load_peers(db, profile)) == SAVE_CHUNK + 5
