"""Reading sessions users bring: Telethon StringSession strings and `.session` SQLite files."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from telethon import functions, types
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

from app.lib.errors import ValidationFailed
from app.telegram.connector import TelegramConnector
from app.telegram.errors import status_for, to_app_error

MAX_SESSION_FILE_BYTES = 1_000_000


class InvalidSession(ValueError):
    """The uploaded session cannot be read; the message says why."""


def validate_string_session(value: str) -> str:
    """Parse a StringSession string (raises InvalidSession) and return it re-serialised."""
    try:
        parsed = StringSession(value.strip())
    except Exception:
        raise InvalidSession("session_string is not a Telethon StringSession") from None
    if parsed.auth_key is None or not parsed.server_address:
        raise InvalidSession("session_string holds no authorization key")
    return StringSession.save(parsed)


def string_session_from_file(content: bytes) -> str:
    """Convert a Telethon `.session` SQLite file into a StringSession string."""
    if len(content) > MAX_SESSION_FILE_BYTES:
        raise InvalidSession("session file is too large")
    if not content.startswith(b"SQLite format 3\x00"):
        raise InvalidSession("not a Telethon .session file (expected an SQLite database)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.session"
        path.write_bytes(content)
        try:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                row = connection.execute(
                    "SELECT dc_id, server_address, port, auth_key FROM sessions LIMIT 1"
                ).fetchone()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise InvalidSession(f"not a Telethon .session file ({exc})") from None
    if row is None or not row[3]:
        raise InvalidSession("the session file holds no authorization key")
    dc_id, address, port, key = row
    session = StringSession()
    session.set_dc(int(dc_id), str(address), int(port))
    session.auth_key = AuthKey(bytes(key))
    return StringSession.save(session)


async def verify_session(connector: TelegramConnector, session: str, api_id: int, api_hash: str) -> types.User:
    """Connect once and return the account behind the session; unusable sessions raise a 4xx AppError."""
    client = connector.client(session, api_id=api_id, api_hash=api_hash, receive_updates=False)
    try:
        await client.connect()
        users = await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
    except Exception as exc:
        verdict = status_for(exc)
        if verdict is not None:
            raise ValidationFailed(
                f"the session is not logged in ({type(exc).__name__})", code="session_unauthorized"
            ) from None
        raise to_app_error(exc) from None
    finally:
        await client.disconnect()
    if not users or not isinstance(users[0], types.User):
        raise ValidationFailed("the session is not logged in", code="session_unauthorized")
    return users[0]
