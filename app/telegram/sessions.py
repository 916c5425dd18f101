"""Reading sessions users bring: Telethon StringSession strings and `.session` SQLite files.

Both are untrusted input. The DC address inside them is dropped (the DC id picks one of Telegram's own
addresses, see `TELEGRAM_DCS`); a `.session` file is opened read-only and immutable in a worker thread, with a
size bound, a time bound (an SQLite progress handler interrupts a query that runs too long) and a schema
check that admits only Telethon's own tables (no views or triggers: they run code of the file's author).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from telethon import functions, types
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

from app.lib.devices import DeviceIdentity
from app.lib.errors import ValidationFailed
from app.lib.proxies import ProxySpec
from app.telegram.checkpoints import StoredState, binding_checkpoint
from app.telegram.connector import TELEGRAM_DCS, TelegramConnector
from app.telegram.records import AccountInfo, account_info

MAX_SESSION_FILE_BYTES = 1_000_000
PARSE_TIME_LIMIT_S = 0.5
VERIFY_TIMEOUT_S = 20.0
AUTH_KEY_BYTES = 256
TELETHON_TABLES = frozenset({"version", "sessions", "entities", "sent_files", "update_state"})
SESSION_COLUMNS = frozenset({"dc_id", "server_address", "port", "auth_key"})


class InvalidSession(ValueError):
    """The uploaded session cannot be read; the message says why."""


def _canonical(dc_id: object, key: object) -> str:
    """A StringSession for (dc_id, key) at Telegram's own address of that DC; malformed fields raise."""
    if not isinstance(dc_id, int) or isinstance(dc_id, bool) or dc_id not in TELEGRAM_DCS:
        raise InvalidSession("the session names no Telegram data-center (dc_id must be 1-5)")
    if not isinstance(key, bytes) or len(key) != AUTH_KEY_BYTES:
        raise InvalidSession("the session holds no valid authorization key")
    session = StringSession()
    host, port = TELEGRAM_DCS[dc_id]
    session.set_dc(dc_id, host, port)
    session.auth_key = AuthKey(key)
    return StringSession.save(session)


def validate_string_session(value: str) -> str:
    """Parse a StringSession string (raises InvalidSession) and return it re-serialised at its DC's address."""
    try:
        parsed = StringSession(value.strip())
    except Exception:
        raise InvalidSession("session_string is not a Telethon StringSession") from None
    if parsed.auth_key is None:
        raise InvalidSession("session_string holds no authorization key")
    return _canonical(parsed.dc_id, parsed.auth_key.key)


async def string_session_from_file(content: bytes) -> str:
    """Convert a Telethon `.session` SQLite file into a StringSession string (parsed off the event loop)."""
    if len(content) > MAX_SESSION_FILE_BYTES:
        raise InvalidSession("session file is too large")
    if not content.startswith(b"SQLite format 3\x00"):
        raise InvalidSession("not a Telethon .session file (expected an SQLite database)")
    dc_id, key = await asyncio.to_thread(_read_session_file, content)
    return _canonical(dc_id, key)


def _read_session_file(content: bytes) -> tuple[object, object]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.session"
        path.write_bytes(content)
        try:
            # immutable: no locks, no journal or WAL files beside it; the file is only ever read
            connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        except sqlite3.Error as exc:
            raise InvalidSession(f"not a Telethon .session file ({exc})") from None
        try:
            deadline = time.monotonic() + PARSE_TIME_LIMIT_S
            connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
            return _session_row(connection)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise InvalidSession("the session file took too long to read") from None
            raise InvalidSession(f"not a Telethon .session file ({exc})") from None
        except sqlite3.Error as exc:
            raise InvalidSession(f"not a Telethon .session file ({exc})") from None
        finally:
            connection.close()


def _session_row(connection: sqlite3.Connection) -> tuple[object, object]:
    for kind, name in connection.execute("SELECT type, name FROM sqlite_master"):
        plain_table = kind == "table" and name in TELETHON_TABLES
        primary_key_index = kind == "index" and str(name).startswith("sqlite_autoindex_")
        if not (plain_table or primary_key_index):
            raise InvalidSession(f"not a plain Telethon .session file (unexpected {kind} {str(name)[:64]!r})")
    columns = {row[1] for row in connection.execute("SELECT * FROM pragma_table_info('sessions')")}
    if not columns >= SESSION_COLUMNS:
        raise InvalidSession("not a Telethon .session file (no sessions table)")
    row = connection.execute("SELECT dc_id, auth_key FROM sessions LIMIT 1").fetchone()
    if row is None or not row[1]:
        raise InvalidSession("the session file holds no authorization key")
    return row[0], row[1]


@dataclass(frozen=True, slots=True)
class VerifiedSession:
    me: AccountInfo
    checkpoint: tuple[StoredState, ...]  # the update state at import: the first connection catches up from it


async def verify_session(
    connector: TelegramConnector,
    session: str,
    api_id: int,
    api_hash: str,
    identity: DeviceIdentity | None = None,
    proxy: ProxySpec | None = None,
) -> VerifiedSession:
    """Connect once: the account behind the session and its update state (the first checkpoint).

    Every failure (unreachable, refused, not logged in, timed out) answers the same 422, so the answer tells
    nothing about networks; the client tries once, never reconnects, and is gone when the request ends.
    """
    client = connector.client(
        session,
        api_id=api_id,
        api_hash=api_hash,
        receive_updates=False,
        connection_retries=0,
        auto_reconnect=False,
        identity=identity,
        proxy=proxy,
    )
    users: object = None
    checkpoint: tuple[StoredState, ...] = ()
    try:
        async with asyncio.timeout(VERIFY_TIMEOUT_S):
            await client.connect()
            users = await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
            if isinstance(users, list) and users and isinstance(users[0], types.User):
                checkpoint = await binding_checkpoint(client)
    except Exception:
        users = None
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()
    if not isinstance(users, list) or not users or not isinstance(users[0], types.User):
        raise ValidationFailed("the session could not be verified with Telegram", code="session_unauthorized")
    return VerifiedSession(account_info(users[0]), checkpoint)
