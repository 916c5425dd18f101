"""The log store on the real ClickHouse engine (chdb): schema, shipper, queries."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from app.lib import logging as applog
from app.lib.clickhouse import (
    ClickHouseConfigError,
    LogQueryError,
    LogShipper,
    apply_schema,
    encode_json_each_row,
    make_client,
    query_logs,
)

# An hour ago, on a whole minute: rows stay inside every retention the tests apply (7 days and up), on any day.
BASE = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
# The contract's `ts` spelling of BASE + 2 min, written out rather than derived from the code under test.
BASE_PLUS_2_MIN = (BASE + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:00.000000Z")
ALICE, BOB = str(uuid.uuid4()), str(uuid.uuid4())
PROFILE, CHANNEL = str(uuid.uuid4()), str(uuid.uuid4())


def count(client: Client, table: str) -> int:
    result = client.query("SELECT count() FROM {table:Identifier}", parameters={"table": table})
    return int(result.result_rows[0][0])


def insert(client: Client, table: str, rows: list[dict[str, Any]]) -> None:
    client.raw_insert(table, insert_block=encode_json_each_row(rows), fmt="JSONEachRow")


def request_row(minute: int, user: str | None, path: str = "/messages/send", status: int = 200) -> dict[str, Any]:
    return {
        "kind": "request", "ts": applog.utc_timestamp(BASE + timedelta(minutes=minute)),
        "request_id": uuid.uuid4().hex, "method": "POST", "path": path, "route": path, "status": status,
        "duration_ms": 1.5, "user_id": user, "ip": "10.0.0.1", "user_agent": "pytest",
    }  # fmt: skip


def event_row(minute: int, user: str | None, **fields: Any) -> dict[str, Any]:
    row = {
        "kind": "event", "ts": applog.utc_timestamp(BASE + timedelta(minutes=minute)), "level": "info",
        "source": "messages", "event": "message.sent", "message": f"sent #{minute}", "context": {"n": minute},
        "user_id": user, "profile_id": None, "channel_id": None, "request_id": None,
    }  # fmt: skip
    row.update(fields)
    return row


# ------------------------------------------------------------------------------------------------ schema


def test_apply_schema_is_idempotent_and_follows_retention(ch: Client) -> None:
    insert(ch, "event_log", [event_row(0, ALICE)])
    assert apply_schema(ch, 30) == ["event_log", "request_log"]
    assert count(ch, "event_log") == 1
    apply_schema(ch, 7)
    for table in ("event_log", "request_log"):
        engine = ch.command(
            "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
            parameters={"t": table},
        )
        assert "toIntervalDay(7)" in str(engine)
        assert "PARTITION BY toDate(ts)" in str(engine)
    assert count(ch, "event_log") == 1


@pytest.mark.parametrize("days", [0, -1, 40000, "30", True])
def test_apply_schema_rejects_bad_retention(ch: Client, days: Any) -> None:
    with pytest.raises(ClickHouseConfigError):
        apply_schema(ch, days)


def test_make_client_rejects_bad_dsns(chdb_path: Any) -> None:
    with pytest.raises(ClickHouseConfigError):
        make_client("postgres://x")
    with pytest.raises(ClickHouseConfigError):
        make_client(f"chdb://{chdb_path}?database=bad;name")
    with pytest.raises(ClickHouseConfigError, match="one engine path per process"):
        make_client(f"chdb://{chdb_path}-other")


# ----------------------------------------------------------------------------------------------- shipper


def test_shipper_batches_in_its_own_thread_and_stop_flushes(ch: Client, ch_dsn: str) -> None:
    client = make_client(ch_dsn)
    shipper = LogShipper(client, batch_size=5, flush_interval_s=30)  # only size triggers a flush
    threads: set[str] = set()
    original = client.raw_insert

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.add(threading.current_thread().name)
        return original(*args, **kwargs)

    client.raw_insert = spy  # type: ignore[method-assign]
    shipper.start()
    try:
        for i in range(5):
            applog.log_event("info", "tests", "shipper.row", f"row {i}")
        deadline = time.monotonic() + 10
        while shipper.shipped < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert shipper.shipped == 5
        assert threads == {"log-shipper"}
        applog.log_request("GET", "/health", "/health", 200, 0.4)
        applog.log_event("info", "tests", "shipper.row", "last")
        assert shipper.buffered == 2  # below batch size and far from the interval
    finally:
        shipper.stop()
        client.close()
    assert shipper.stats() == {"buffered": 0, "shipped": 7, "dropped": 0, "failed_batches": 0, "failed_rows": 0}
    assert (count(ch, "event_log"), count(ch, "request_log")) == (6, 1)
    applog.log_event("info", "tests", "shipper.row", "after stop: not shipped")
    assert shipper.buffered == 0


def test_shipper_flushes_on_interval(ch: Client, ch_dsn: str) -> None:
    client = make_client(ch_dsn)
    shipper = LogShipper(client, batch_size=1000, flush_interval_s=0.05)
    shipper.start()
    try:
        applog.log_event("info", "tests", "interval", "one row")
        deadline = time.monotonic() + 10
        while shipper.shipped < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert shipper.shipped == 1
    finally:
        shipper.stop()
        client.close()


def test_shipper_overflow_is_counted_reported_and_never_blocks(ch: Client, capsys: pytest.CaptureFixture[str]) -> None:
    shipper = LogShipper(ch, buffer_size=10, batch_size=100, flush_interval_s=60)
    applog.add_sink(shipper)  # registered, thread not started: nothing drains the buffer
    try:
        for i in range(25):  # a full buffer drops: nothing drains it, so a blocking put would never return
            applog.log_event("info", "tests", "overflow", f"row {i}")
    finally:
        applog.remove_sink(shipper)
    assert (shipper.buffered, shipper.dropped) == (10, 15)
    capsys.readouterr()
    shipper.stop()
    assert shipper.shipped == 10
    assert count(ch, "event_log") == 10
    warnings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    dropped = [w for w in warnings if w["event"] == "logs.dropped"]
    assert len(dropped) == 1
    assert dropped[0]["level"] == "warning"
    assert dropped[0]["context"] == {"dropped_since_last_report": 15, "dropped_total": 15}


def test_shipper_counts_failed_batches(ch_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    client = make_client(ch_dsn)  # no schema: inserts fail
    try:
        shipper = LogShipper(client, batch_size=2)
        for i in range(3):
            shipper({"kind": "event", **event_row(i, None)})
        shipper({"kind": "other"})  # not a log row: ignored
        shipper.flush()
    finally:
        client.close()
    assert (shipper.failed_batches, shipper.failed_rows, shipper.shipped) == (2, 3, 0)
    failures = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {f["event"] for f in failures} == {"logs.ship_failed"}


def test_shipper_opens_its_client_lazily_retries_and_closes_it(ch: Client, ch_dsn: str) -> None:
    attempts: list[Client] = []

    def open_client() -> Client:
        if not attempts:
            attempts.append(ch)  # the first attempt fails, like a server that is not up yet
            raise ConnectionError("not yet")
        client = make_client(ch_dsn)
        attempts.append(client)
        return client

    shipper = LogShipper(open_client, batch_size=1000, flush_interval_s=30)
    shipper({"kind": "event", **event_row(0, ALICE)})
    shipper.flush()
    assert (shipper.buffered, shipper.shipped) == (1, 0)
    assert shipper.last_error == "ConnectionError: not yet"
    shipper.flush()
    assert (shipper.buffered, shipper.shipped, shipper.last_error) == (0, 1, None)
    shipper.stop()
    assert count(ch, "event_log") == 1
    with pytest.raises(Exception):  # noqa: B017,PT011 - the shipper closed the client it opened
        attempts[1].command("SELECT 1")


# ------------------------------------------------------------------------------------------------- query


@pytest.fixture
def seeded(ch: Client) -> Client:
    insert(
        ch,
        "request_log",
        [
            request_row(0, ALICE, "/messages/send", 200),
            request_row(1, ALICE, "/profiles", 404),
            request_row(2, BOB, "/messages/send", 500),
            request_row(3, None, "/health", 200),
        ],
    )
    insert(
        ch,
        "event_log",
        [
            event_row(0, ALICE, profile_id=PROFILE, message="Message sent to Carol"),
            event_row(1, ALICE, level="error", event="message.failed", message="flood wait", channel_id=CHANNEL),
            event_row(
                2,
                BOB,
                level="warning",
                source="channels",
                event="channel.join_failed",
                channel_id=CHANNEL,
                context={"reason": "private channel"},
            ),
            event_row(3, None, level="critical", source="system", event="key.rotated", message="rotated"),
        ],
    )
    return ch


def messages(rows: list[dict[str, Any]]) -> list[str]:
    return [row["message"] for row in rows]


def test_query_tenant_isolation_and_admin(seeded: Client) -> None:
    rows, cursor = query_logs(seeded, kind="event", user_id=ALICE)
    assert messages(rows) == ["flood wait", "Message sent to Carol"]
    assert cursor is None
    assert {row["user_id"] for row in rows} == {ALICE}
    bob, _ = query_logs(seeded, kind="request", user_id=BOB)
    assert [row["status"] for row in bob] == [500]
    everyone, _ = query_logs(seeded, kind="event", user_id=None)
    assert len(everyone) == 4
    assert everyone[0]["user_id"] is None
    nobody, _ = query_logs(seeded, kind="event", user_id=str(uuid.uuid4()))
    assert nobody == []


def test_query_row_shape_matches_the_contract(seeded: Client) -> None:
    (event, *_), _ = query_logs(seeded, kind="event", user_id=BOB)
    assert event == {
        "kind": "event", "ts": BASE_PLUS_2_MIN, "level": "warning", "source": "channels",
        "event": "channel.join_failed", "message": "sent #2", "context": {"reason": "private channel"},
        "user_id": BOB, "profile_id": None, "channel_id": CHANNEL, "request_id": None,
    }  # fmt: skip
    (request, *_), _ = query_logs(seeded, kind="request", user_id=BOB)
    assert set(request) == {
        "kind", "ts", "request_id", "method", "path", "route", "status", "duration_ms", "user_id", "ip",
        "user_agent",
    }  # fmt: skip
    assert request["ts"] == BASE_PLUS_2_MIN


@pytest.mark.parametrize(
    ("kind", "filters", "expected"),
    [
        ("event", {"level": "error"}, ["flood wait"]),
        ("event", {"since": BASE + timedelta(minutes=1)}, ["rotated", "sent #2", "flood wait"]),
        ("event", {"until": BASE + timedelta(minutes=1)}, ["Message sent to Carol"]),
        (
            "event",
            {"since": BASE + timedelta(minutes=1), "until": BASE + timedelta(minutes=3)},
            ["sent #2", "flood wait"],
        ),
        ("event", {"q": "CAROL"}, ["Message sent to Carol"]),
        ("event", {"q": "private"}, ["sent #2"]),  # context text is searched too
        ("event", {"q": "join_failed"}, ["sent #2"]),
        ("event", {"profile_id": PROFILE}, ["Message sent to Carol"]),
        ("event", {"channel_id": CHANNEL}, ["sent #2", "flood wait"]),
        ("request", {"status": 404}, ["/profiles"]),
        ("request", {"path": "/messages"}, ["/messages/send", "/messages/send"]),
        ("request", {"q": "health"}, ["/health"]),
        ("request", {"since": BASE.replace(tzinfo=None) + timedelta(minutes=3)}, ["/health"]),
    ],
)
def test_query_filters(seeded: Client, kind: str, filters: dict[str, Any], expected: list[str]) -> None:
    rows, _ = query_logs(seeded, kind=kind, user_id=None, **filters)
    got = messages(rows) if kind == "event" else [row["path"] for row in rows]
    assert got == expected


def test_query_cursor_pagination(ch: Client) -> None:
    same_ts = [event_row(5, ALICE, message=f"same {i}") for i in range(3)]  # ties broken by row_id
    insert(ch, "event_log", [event_row(i, ALICE) for i in range(7)] + same_ts)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        rows, cursor = query_logs(ch, kind="event", user_id=ALICE, limit=3, cursor=cursor)
        seen += messages(rows)
        pages += 1
        if cursor is None:
            break
    assert pages == 4
    assert len(seen) == 10
    assert len(set(seen)) == 10
    assert seen[:1] == ["sent #6"]
    assert seen[-1] == "sent #0"
    rows, cursor = query_logs(ch, kind="event", user_id=ALICE, limit=10)
    assert len(rows) == 10
    assert cursor is None


@pytest.mark.parametrize(
    "q",
    ["' OR 1=1 --", "'; DROP TABLE event_log; --", "{user_id:String}", "\\' OR ''='", "%", "_", "\x00"],
)
def test_query_injection_attempts_find_nothing(seeded: Client, q: str) -> None:
    rows, cursor = query_logs(seeded, kind="event", user_id=ALICE, q=q)
    assert rows == []
    assert cursor is None
    rows, _ = query_logs(seeded, kind="request", user_id=ALICE, path=q)
    assert rows == []
    assert count(seeded, "event_log") == 4


def test_query_injection_through_ids_finds_nothing(seeded: Client) -> None:
    rows, _ = query_logs(seeded, kind="event", user_id="' OR 1=1 --")
    assert rows == []
    rows, _ = query_logs(seeded, kind="event", user_id=ALICE, profile_id="x' OR '1'='1")
    assert rows == []


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"kind": "audit"}, "invalid_filter", "kind"),
        ({"kind": "event", "limit": 0}, "invalid_filter", "limit"),
        ({"kind": "event", "limit": 1001}, "invalid_filter", "limit"),
        ({"kind": "event", "level": "loud"}, "invalid_filter", "level"),
        ({"kind": "request", "level": "info"}, "invalid_filter", "level"),
        ({"kind": "event", "status": 200}, "invalid_filter", "status"),
        ({"kind": "request", "status": 42}, "invalid_filter", "status"),
        ({"kind": "event", "path": "/x"}, "invalid_filter", "path"),
        ({"kind": "request", "profile_id": PROFILE}, "invalid_filter", "profile_id"),
        ({"kind": "event", "q": "x" * 201}, "invalid_filter", "q"),
        ({"kind": "event", "since": BASE, "until": BASE - timedelta(seconds=1)}, "invalid_filter", "since"),
        ({"kind": "event", "cursor": "not-a-cursor"}, "invalid_cursor", "cursor"),
        ({"kind": "event", "cursor": "W10"}, "invalid_cursor", "cursor"),  # base64 of []
        ({"kind": "event", "cursor": "' OR 1=1 --"}, "invalid_cursor", "cursor"),
    ],
)
def test_query_rejects_bad_filters_with_typed_errors(
    seeded: Client, kwargs: dict[str, Any], code: str, field: str
) -> None:
    with pytest.raises(LogQueryError) as info:
        query_logs(seeded, user_id=ALICE, **kwargs)
    assert info.value.error_code == code
    assert info.value.status == 400
    assert info.value.details == {"field": field}


def test_query_rejects_cursor_of_other_kind_or_tampered(seeded: Client) -> None:
    _, cursor = query_logs(seeded, kind="event", user_id=None, limit=1)
    assert cursor is not None
    with pytest.raises(LogQueryError, match="another log kind"):
        query_logs(seeded, kind="request", user_id=None, cursor=cursor)
    with pytest.raises(LogQueryError):
        query_logs(seeded, kind="event", user_id=None, cursor=cursor[:-4] + "AAAA")


def test_query_timeout_applies(seeded: Client) -> None:
    rows, _ = query_logs(seeded, kind="event", user_id=None, timeout_s=0.2)
    assert len(rows) == 4
