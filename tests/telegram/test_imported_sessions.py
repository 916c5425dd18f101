"""Sessions users bring are untrusted: the DC address inside one is never connected to (its DC id picks the
address from the DC table), verification tries once and answers the same way for every failure."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from telethon.sessions import StringSession

from app.lib.errors import ValidationFailed
from app.telegram.connector import SANDBOX_API_HASH, SANDBOX_API_ID, TelegramConnector
from app.telegram.sessions import InvalidSession, validate_string_session, verify_session
from tests.conftest import sandbox_phone
from tests.live import free_port

pytestmark = pytest.mark.asyncio


class Listener:
    """A TCP socket on 127.0.0.1 that counts connections (and closes each at once)."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def _accepted(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()


@contextlib.asynccontextmanager
async def listening() -> AsyncIterator[Listener]:
    listener = Listener()
    server = await asyncio.start_server(listener._accepted, "127.0.0.1", 0)
    listener.port = server.sockets[0].getsockname()[1]
    try:
        yield listener
    finally:
        server.close()
        await server.wait_closed()


def connector_for(table: dict[int, tuple[str, int]], sandbox) -> TelegramConnector:
    """A real-Telegram-mode connector (no configured DC) whose DC table the test controls."""
    connector = TelegramConnector(SANDBOX_API_ID, SANDBOX_API_HASH, dc_table=table)
    connector.trust_key(sandbox.public_key_pem)
    return connector


def pointed_at(session: str, host: str, port: int) -> str:
    parsed = StringSession(session)
    parsed.set_dc(parsed.dc_id, host, port)
    return StringSession.save(parsed)


def sandbox_session(sandbox) -> tuple[str, int]:
    user = sandbox.control.create_user(phone=sandbox_phone().lstrip("+"), first_name="Imp")
    return sandbox.control.login_session(user), user.id


async def test_the_address_inside_a_session_is_never_connected_to(sandbox):
    session, user_id = sandbox_session(sandbox)
    connector = connector_for({2: ("127.0.0.1", sandbox.port)}, sandbox)
    async with listening() as listener:
        hostile = pointed_at(session, "127.0.0.1", listener.port)
        me = (await verify_session(connector, hostile, SANDBOX_API_ID, SANDBOX_API_HASH)).me
        assert me.id == user_id  # reached through the DC table
        cleaned = StringSession(validate_string_session(hostile))
        assert (cleaned.server_address, cleaned.port) == ("149.154.167.51", 443)  # Telegram's own DC 2
        await asyncio.sleep(0.2)
        assert listener.connections == 0


async def test_every_verification_failure_answers_the_same_and_tries_once(sandbox):
    session, _ = sandbox_session(sandbox)
    answers = []
    async with listening() as listener:
        tables = [{2: ("127.0.0.1", free_port())}, {2: ("127.0.0.1", listener.port)}]
        for table in tables:
            with pytest.raises(ValidationFailed) as refused:
                await verify_session(connector_for(table, sandbox), session, SANDBOX_API_ID, SANDBOX_API_HASH)
            answers.append((refused.value.status, refused.value.error_code, str(refused.value)))
        revoked = sandbox.control.create_user(phone=sandbox_phone().lstrip("+"), first_name="Gone")
        dead = sandbox.control.login_session(revoked)
        sandbox.control.revoke(revoked)
        connector = connector_for({2: ("127.0.0.1", sandbox.port)}, sandbox)
        with pytest.raises(ValidationFailed) as refused:
            await verify_session(connector, dead, SANDBOX_API_ID, SANDBOX_API_HASH)
        answers.append((refused.value.status, refused.value.error_code, str(refused.value)))
        await asyncio.sleep(1.5)  # a client that reconnected on its own would show up here
        assert listener.connections == 1  # one attempt, no reconnects
    assert len(set(answers)) == 1, answers
    assert answers[0][:2] == (422, "session_unauthorized")


@pytest.mark.parametrize("dc_id", [0, 6, 255])
async def test_a_session_naming_an_unknown_dc_is_refused(dc_id):
    session = StringSession()
    session.set_dc(dc_id, "10.0.0.1", 443)
    from telethon.crypto import AuthKey

    session.auth_key = AuthKey(uuid.uuid4().bytes * 16)
    with pytest.raises(InvalidSession):
        validate_string_session(StringSession.save(session))
