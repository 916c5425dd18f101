"""The Vector contract: what the app prints is what vector.yaml ships and what the ClickHouse DDL accepts.

Vector's ClickHouse sink sends `INSERT INTO <table> FORMAT JSONEachRow` with the row each remap builds; this
test builds that row from the real stdout lines the same way and inserts it into the real DDL on chdb with
unknown fields rejected, so a renamed, added or dropped field fails here before it fails in production.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from clickhouse_connect.driver.client import Client

from app.lib import logging as applog
from app.lib.clickhouse import INSERT_SETTINGS, TABLES, apply_schema, make_client

ROOT = Path(__file__).resolve().parents[1]
REMAP_FOR_TABLE = {"request_log": "request_rows", "event_log": "event_rows"}
SERVER_FILLED = {"row_id"}


@pytest.fixture(scope="module")
def vector() -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "vector.yaml").read_text())
    assert isinstance(config, dict)
    return config


@pytest.fixture(scope="module")
def ddl(chdb_path: Path) -> Iterator[Client]:
    # chdb: one engine path per process, shared by the suite; this module uses a database of its own.
    client = make_client(f"chdb://{chdb_path}?database=contract_{uuid.uuid4().hex[:12]}")
    apply_schema(client, 30)
    try:
        yield client
    finally:
        client.close()


def columns(client: Client, table: str) -> dict[str, str]:
    """Column name -> default kind ('' when the insert must supply it)."""
    result = client.query(
        "SELECT name, default_kind FROM system.columns WHERE database = currentDatabase() AND table = {t:String}",
        parameters={"t": table},
    )
    return {name: kind for name, kind in result.result_rows}


def remap_fields(vector: dict[str, Any], table: str) -> dict[str, str]:
    """Output field -> VRL expression of the remap that feeds the table's sink."""
    source = vector["transforms"][REMAP_FOR_TABLE[table]]["source"]
    return dict(re.findall(r'^\s*"(\w+)":\s*(.+?),?\s*$', source, flags=re.MULTILINE))


def apply_remap(line: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """What the VRL remap does to a parsed line: pick fields, encode_json() where asked."""
    row: dict[str, Any] = {}
    for name, expression in fields.items():
        if expression == f".{name}":
            row[name] = line[name]
        elif expression == f"encode_json(.{name})":
            row[name] = msgspec.json.encode(line[name]).decode()
        else:
            raise AssertionError(f"remap expression the contract test does not know: {expression}")
    return row


def test_vector_yaml_wiring(vector: dict[str, Any]) -> None:
    source = vector["sources"]["app_stdout"]
    assert source["type"] == "docker_logs"
    parse = vector["transforms"]["parse_json"]
    assert parse["type"] == "remap"
    assert parse["inputs"] == ["app_stdout"]
    assert "parse_json(.message)" in parse["source"]
    assert parse["drop_on_abort"] is True
    route = vector["transforms"]["by_kind"]
    assert route["type"] == "route"
    assert route["inputs"] == ["parse_json"]
    assert route["route"] == {"request": '.kind == "request"', "event": '.kind == "event"'}
    for kind, table in TABLES.items():
        remap = vector["transforms"][REMAP_FOR_TABLE[table]]
        assert remap["type"] == "remap"
        assert remap["inputs"] == [f"by_kind.{kind}"]
        sink = vector["sinks"][table]
        assert sink["type"] == "clickhouse"
        assert sink["inputs"] == [REMAP_FOR_TABLE[table]]
        assert sink["table"] == table
        assert sink["endpoint"] == "http://clickhouse:8123"
        assert sink["database"].startswith("${")
        assert sink["skip_unknown_fields"] is False
        assert sink["date_time_best_effort"] is True
        assert sink["format"] == "json_each_row"
        assert sink["buffer"]["type"] == "disk"
        assert sink["buffer"]["max_size"] >= 268435488  # Vector's minimum disk buffer
        assert sink["acknowledgements"] == {"enabled": True}


@pytest.mark.parametrize("table", sorted(REMAP_FOR_TABLE))
def test_remap_fields_are_the_ddl_columns(vector: dict[str, Any], ddl: Client, table: str) -> None:
    cols = columns(ddl, table)
    assert set(remap_fields(vector, table)) == set(cols) - SERVER_FILLED
    assert all(cols[name] == "DEFAULT" for name in SERVER_FILLED)


def test_printed_lines_insert_into_the_ddl(
    vector: dict[str, Any], ddl: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    applog.configure_logging("debug")
    user, profile, channel = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    applog.bind_request(applog.new_request_id(), user)
    try:
        applog.log_request("POST", "/messages/send", "/messages/send", 202, 12.5, ip="10.1.2.3", user_agent="k6")
        applog.log_event(
            "info", "messages", "message.sent", "sent", context={"chat": 42, "tags": ["a"], "token": "x"},
            profile_id=profile, channel_id=channel,
        )  # fmt: skip
        applog.clear_request()
        applog.log_request("GET", "/health", "/health", 200, 0.2, ip="127.0.0.1", user_agent="curl/8")
        applog.log_event("critical", "system", "key.rotated", "rotated")
    finally:
        applog.clear_request()
        applog.configure_logging("info")
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["kind"] for line in printed] == ["request", "event", "request", "event"]

    for line in printed:
        table = TABLES[line["kind"]]
        fields = remap_fields(vector, table)
        assert set(line) - {"kind"} == set(fields), "the remap must keep every printed field and no other"
        row = apply_remap(line, fields)
        body = (json.dumps(row) + "\n").encode()
        ddl.raw_insert(table, insert_block=body, fmt="JSONEachRow", settings=INSERT_SETTINGS)
        stored = ddl.query(  # lines are printed in time order, so the newest row is the one just inserted
            "SELECT formatDateTime(ts, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC'), user_id FROM {t:Identifier} "
            "ORDER BY ts DESC LIMIT 1",
            parameters={"t": table},
        ).result_rows[0]
        assert stored[0] == line["ts"]
        assert stored[1] == (line["user_id"] or "")

    events = ddl.query("SELECT context, profile_id, channel_id FROM event_log ORDER BY ts").result_rows
    assert json.loads(events[0][0]) == {"chat": 42, "tags": ["a"], "token": "***"}
    assert events[0][1:] == (str(profile), str(channel))
    assert events[1] == ("{}", None, None)
    statuses = ddl.query("SELECT status, duration_ms FROM request_log ORDER BY ts").result_rows
    assert statuses == [(202, 12.5), (200, 0.2)]


def test_unknown_fields_are_rejected(ddl: Client) -> None:
    """skip_unknown_fields=false in Vector: a field the DDL lacks fails loudly instead of vanishing."""
    line = applog.log_request("GET", "/x", "/x", 200, 1.0)
    row = {key: value for key, value in line.items() if key != "kind"} | {"unexpected": 1}
    with pytest.raises(Exception, match="Unknown field"):
        ddl.raw_insert(
            "request_log", insert_block=(json.dumps(row) + "\n").encode(), fmt="JSONEachRow",
            settings=INSERT_SETTINGS,
        )  # fmt: skip
