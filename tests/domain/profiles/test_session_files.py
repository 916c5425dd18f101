"""`.session` uploads are untrusted SQLite files: parsed off the event loop, read-only, bounded, and refused
unless they are a plain Telethon session (no views, no triggers, well-formed fields)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from tests.conftest import bearer, register_and_login

pytestmark = pytest.mark.asyncio

TELETHON_SESSIONS = (
    "CREATE TABLE sessions (dc_id integer primary key, server_address text, port integer, auth_key blob,"
    " takeout_id integer)"
)


def session_file(path, *statements: str) -> bytes:
    connection = sqlite3.connect(path)
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()
    return path.read_bytes()


async def upload(client, headers, content: bytes):
    return await client.post("/profiles/import", files={"file": ("a.session", content)}, headers=headers)


async def test_a_session_view_with_a_recursive_query_is_refused_while_health_stays_fast(client, tmp_path):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    # Reading this `sessions` view counts to fifty million first: seconds of CPU wherever it runs.
    content = session_file(
        tmp_path / "evil.session",
        "CREATE TABLE version (version integer primary key)",
        "CREATE VIEW sessions AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 50000000)"
        " SELECT 2 AS dc_id, '127.0.0.1' AS server_address, 6379 AS port, randomblob(256) AS auth_key,"
        " NULL AS takeout_id FROM n WHERE x = 50000000",
    )
    assert len(content) < 16_384
    assert (await client.get("/health")).status_code == 200  # warm: first-use costs are not the stall measured
    attempt = asyncio.create_task(upload(client, headers, content))
    answered_meanwhile = 0
    while not attempt.done():
        assert (await client.get("/health")).status_code == 200
        if not attempt.done():
            answered_meanwhile += 1
    refused = await attempt
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_session"
    assert "view" in refused.json()["error"]["message"]
    # The view is read off the event loop: other requests go on while it computes (on the loop, none would).
    assert answered_meanwhile >= 3, answered_meanwhile


async def test_triggers_foreign_tables_and_malformed_fields_are_refused(client, tmp_path):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    cases = {
        "trigger": (
            TELETHON_SESSIONS,
            "CREATE TABLE version (version integer primary key)",
            "CREATE TRIGGER t AFTER INSERT ON version BEGIN DELETE FROM sessions; END",
            "INSERT INTO sessions VALUES (2, '1.2.3.4', 443, randomblob(256), NULL)",
        ),
        "foreign table": (
            TELETHON_SESSIONS,
            "CREATE TABLE payload (x)",
            "INSERT INTO sessions VALUES (2, '1.2.3.4', 443, randomblob(256), NULL)",
        ),
        "text dc id": (
            TELETHON_SESSIONS.replace("integer primary key", "text"),
            "INSERT INTO sessions VALUES ('two', '1.2.3.4', 443, randomblob(256), NULL)",
        ),
        "dc id out of range": (
            TELETHON_SESSIONS,
            "INSERT INTO sessions VALUES (9223372036854775807, 'x', 1, randomblob(256), NULL)",
        ),
        "short key": (TELETHON_SESSIONS, "INSERT INTO sessions VALUES (2, '1.2.3.4', 443, x'0011', NULL)"),
        "text key": (TELETHON_SESSIONS, "INSERT INTO sessions VALUES (2, '1.2.3.4', 443, 'key', NULL)"),
        "no row": (TELETHON_SESSIONS,),
        "no sessions table": ("CREATE TABLE version (version integer primary key)",),
    }
    for name, statements in cases.items():
        content = session_file(tmp_path / f"{name}.session", *statements)
        refused = await upload(client, headers, content)
        assert refused.status_code == 422, (name, refused.text)
        assert refused.json()["error"]["code"] == "invalid_session", name
