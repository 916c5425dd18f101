"""JSON lines on stdout: shapes, context binding, redaction, the stdlib bridge, sinks."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import uuid
from typing import Any

import pytest

from app.lib import logging as applog
from app.lib.redaction import REDACTED, is_sensitive_key, redact, redact_text

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
# A StringSession has the shape "1" + urlsafe base64(dc id, 4-byte ip, port, 256-byte auth key).
STRING_SESSION = "1" + base64.urlsafe_b64encode(bytes([2]) + bytes(4) + b"\x01\xbb" + os.urandom(256)).decode()


def lines(captured: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


def test_request_line_shape(capsys: pytest.CaptureFixture[str]) -> None:
    user = uuid.uuid4()
    applog.log_request("GET", "/health", "/health", 200, 1.23456, ip="127.0.0.1", user_agent="curl/8", user_id=user)
    out = capsys.readouterr().out
    assert out.endswith("\n")
    assert out.count("\n") == 1
    (line,) = lines(out)
    assert list(line) == [
        "kind", "ts", "request_id", "method", "path", "route", "status", "duration_ms", "user_id", "ip",
        "user_agent",
    ]  # fmt: skip
    assert line["kind"] == "request"
    assert TS.match(line["ts"])
    assert re.fullmatch(r"[0-9a-f]{32}", line["request_id"])
    assert (line["status"], line["duration_ms"], line["user_id"]) == (200, 1.235, str(user))


def test_event_line_shape(capsys: pytest.CaptureFixture[str]) -> None:
    profile = uuid.uuid4()
    applog.log_event(
        "info", "accounts", "user.registered", "user registered", context={"n": [1, {"a": None}]},
        profile_id=profile,
    )  # fmt: skip
    (line,) = lines(capsys.readouterr().out)
    assert list(line) == [
        "kind", "ts", "level", "source", "event", "message", "context", "user_id", "profile_id", "channel_id",
        "request_id",
    ]  # fmt: skip
    assert TS.match(line["ts"])
    assert line["context"] == {"n": [1, {"a": None}]}
    assert (line["user_id"], line["profile_id"], line["channel_id"], line["request_id"]) == (
        None, str(profile), None, None,
    )  # fmt: skip


def test_event_context_defaults_to_object_and_odd_values_become_text(capsys: pytest.CaptureFixture[str]) -> None:
    applog.log_event("warning", "x", "e.none", "m")
    applog.log_event("warning", "x", "e.odd", "m", context={"when": applog, "id": uuid.UUID(int=1)})
    first, second = lines(capsys.readouterr().out)
    assert first["context"] == {}
    assert second["context"]["id"] == str(uuid.UUID(int=1))
    assert "module" in second["context"]["when"]


def test_levels_filter_and_validation(capsys: pytest.CaptureFixture[str]) -> None:
    applog.configure_logging("warning")
    assert applog.log_event("info", "s", "e", "hidden") is None
    assert applog.log_event("WARN", "s", "e", "shown") is not None
    (line,) = lines(capsys.readouterr().out)
    assert line["level"] == "warning"
    with pytest.raises(ValueError, match="unknown log level"):
        applog.log_event("loud", "s", "e", "m")


def test_contextvars_fill_request_and_user(capsys: pytest.CaptureFixture[str]) -> None:
    applog.bind_request("abc123", user_id=None)
    applog.log_event("info", "s", "anonymous", "m")
    applog.bind_user("u-1")
    applog.log_event("info", "s", "known", "m")
    applog.log_request("POST", "/x", "/x", 201, 2.0)
    applog.log_event("info", "s", "explicit", "m", user_id="u-2", request_id="zzz")
    anonymous, known, request, explicit = lines(capsys.readouterr().out)
    assert (anonymous["request_id"], anonymous["user_id"]) == ("abc123", None)
    assert (known["request_id"], known["user_id"]) == ("abc123", "u-1")
    assert (request["request_id"], request["user_id"]) == ("abc123", "u-1")
    assert (explicit["request_id"], explicit["user_id"]) == ("zzz", "u-2")
    applog.clear_request()
    assert applog.current_request_id() is None
    assert applog.current_user_id() is None


async def test_contextvars_are_per_task(capsys: pytest.CaptureFixture[str]) -> None:
    async def handle(request_id: str, user_id: str) -> None:
        applog.bind_request(request_id, user_id)
        await asyncio.sleep(0.01)
        applog.log_event("info", "s", "e", request_id)

    await asyncio.gather(handle("r1", "u1"), handle("r2", "u2"))
    got = {line["message"]: (line["request_id"], line["user_id"]) for line in lines(capsys.readouterr().out)}
    assert got == {"r1": ("r1", "u1"), "r2": ("r2", "u2")}
    assert applog.current_request_id() is None


@pytest.mark.parametrize(
    "key",
    [
        "password", "Password", "new_password", "code", "phone_code", "phone_code_hash", "token", "access_token",
        "refresh_token", "secret", "webhook_secret", "session", "session_string", "api_hash", "Authorization",
        "cookie", "Set-Cookie", "key", "api_key", "encryption_keys",
    ],
)  # fmt: skip
def test_sensitive_keys(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["status_code", "monkey", "keyboard", "session_id", "phone", "message"])
def test_ordinary_keys_pass(key: str) -> None:
    assert not is_sensitive_key(key)


def test_redaction_nested_and_values() -> None:
    value = {
        "user": {"email": "a@b.c", "PASSWORD": "hunter2", "list": [{"token": "t"}, {"ok": 1}]},
        "note": f"got {JWT} from client",
        "sessions": [STRING_SESSION],
        "header": "Bearer abcdefgh12345678",
        "count": 3,
    }
    assert redact(value) == {
        "user": {"email": "a@b.c", "PASSWORD": REDACTED, "list": [{"token": REDACTED}, {"ok": 1}]},
        "note": f"got {REDACTED} from client",
        "sessions": [REDACTED],
        "header": REDACTED,
        "count": 3,
    }
    assert redact_text("plain text") == "plain text"
    assert redact_text("1" + "a" * 100) == "1" + "a" * 100  # short: not a session


def test_no_secret_reaches_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    applog.log_event(
        "error",
        "profiles",
        "profile.bind_failed",
        f"import failed for session {STRING_SESSION}",
        context={"phone_code": "12345", "form": {"password": "pw-secret-1", "session_string": STRING_SESSION},
                 "jwt": JWT},
    )  # fmt: skip
    applog.log_request("GET", f"/x/{JWT}", "/x/{token}", 200, 1.0, user_agent=f"Bearer {JWT}")
    out = capsys.readouterr().out
    for secret in (STRING_SESSION, JWT, "pw-secret-1", "12345"):
        assert secret not in out
    assert out.count(REDACTED) >= 5


def test_stdlib_bridge(capsys: pytest.CaptureFixture[str]) -> None:
    # Other suites quieten the telethon logger for their own output; this test needs its default level.
    telethon = logging.getLogger("telethon")
    previous = telethon.level
    telethon.setLevel(logging.NOTSET)
    try:
        _check_stdlib_bridge(capsys)
    finally:
        telethon.setLevel(previous)


def _check_stdlib_bridge(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("telethon.network.mtprotosender")
    logger.info("below the bridge level")
    logger.warning("reconnecting to %s", "dc2")
    try:
        raise RuntimeError(f"bad token {JWT}")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("boom")
    warning, error = lines(capsys.readouterr().out)
    assert (warning["kind"], warning["level"], warning["source"]) == ("event", "warning", logger.name)
    assert warning["message"] == "reconnecting to dc2"
    assert (error["level"], error["source"]) == ("error", "uvicorn.error")
    assert "RuntimeError" in error["context"]["exception"]
    assert JWT not in json.dumps(error)


def test_configure_logging_installs_one_bridge() -> None:
    applog.configure_logging("info")
    applog.configure_logging("info")
    bridges = [h for h in logging.getLogger().handlers if isinstance(h, applog.StdlibBridgeHandler)]
    assert len(bridges) == 1


def test_sinks_receive_rows_and_failures_are_contained(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[dict[str, Any]] = []

    def broken(row: dict[str, Any]) -> None:
        raise RuntimeError("sink down")

    applog.add_sink(broken)
    applog.add_sink(seen.append)
    try:
        applog.log_event("info", "s", "e", "m", context={"secret": "x"})
        applog.log_request("GET", "/", "/", 200, 0.5)
    finally:
        applog.remove_sink(broken)
        applog.remove_sink(seen.append)
    assert [row["kind"] for row in seen] == ["event", "request"]
    assert seen[0]["context"] == {"secret": REDACTED}
    assert seen == lines(capsys.readouterr().out)
    applog.log_event("info", "s", "e", "after removal")
    assert len(seen) == 2


def test_stdout_can_be_disabled(capsys: pytest.CaptureFixture[str]) -> None:
    applog.configure_logging("info", stdout=False)
    assert applog.log_event("info", "s", "e", "m") is not None
    assert capsys.readouterr().out == ""
