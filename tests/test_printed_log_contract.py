"""The issue's "Done when": every line a real `python -m app serve` printed inserts as JSONEachRow into the
ClickHouse DDL (what Vector's sink does, unknown fields rejected), and none of it holds a secret used in the run.

The server runs as a subprocess with LOG_SHIPPING=stdout (the production shape: print only) through a scripted
set of requests: register, login (good and bad), bad input, 404, me, refresh, logout, reuse of a rotated token.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from clickhouse_connect.driver.client import Client

from app.lib.clickhouse import INSERT_SETTINGS, TABLES, apply_schema, encode_json_each_row, make_client

PASSWORD = "correct horse battery staple"
OTHER_PASSWORD = "Tr0ub4dor&3-not-mine"


@dataclass
class Run:
    stdout: str
    stderr: str
    secrets: list[str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _script(http: httpx.Client) -> list[str]:
    """The requests of the run; returns every secret it used or received."""
    secrets = [PASSWORD, OTHER_PASSWORD]
    assert http.post("/auth/register", json={"email": "ada@example.com", "password": PASSWORD}).status_code == 201
    assert http.post("/auth/register", json={"email": "bob@example.com", "password": OTHER_PASSWORD}).status_code == 201
    assert http.post("/auth/register", json={"email": "ada@example.com", "password": PASSWORD}).status_code == 409
    assert http.post("/auth/register", json={"email": "x", "password": "short"}).status_code == 422
    assert (
        http.post("/auth/login", content=b"{not json", headers={"content-type": "application/json"}).status_code == 400
    )
    assert http.post("/auth/login", json={"email": "ada@example.com", "password": OTHER_PASSWORD}).status_code == 401
    tokens = http.post("/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json()
    secrets += [tokens["access_token"], tokens["refresh_token"]]
    auth = {"Authorization": f"Bearer {tokens['access_token']}", "User-Agent": "contract-test/1"}
    assert http.get("/auth/me", headers=auth).status_code == 200
    assert http.get("/no/such/route", headers=auth).status_code == 404
    assert http.get("/auth/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert http.get(f"/auth/me?access_token={tokens['access_token']}").status_code == 401
    rotated = http.post("/refresh", json={"refresh_token": tokens["refresh_token"]}).json()
    secrets += [rotated["access_token"], rotated["refresh_token"]]
    assert http.post("/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401  # reuse
    assert http.get("/logs", params={"kind": "request"}, headers=auth).status_code in (401, 503)
    new = http.post("/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json()
    secrets += [new["access_token"], new["refresh_token"]]
    new_auth = {"Authorization": f"Bearer {new['access_token']}"}
    assert http.get("/logs", params={"kind": "request"}, headers=new_auth).status_code == 503  # stdout: no query
    assert http.post("/logout", headers=new_auth, json={"refresh_token": new["refresh_token"]}).status_code == 204
    assert http.get("/auth/me", headers=new_auth).status_code == 401
    assert http.get("/health").status_code == 200
    return secrets


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    data = tmp_path_factory.mktemp("printed-contract")
    port = _free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(data / "data"),
        "PORT": str(port),
        "ARGON2_MEMORY_COST_KIB": "1024",
        "ARGON2_TIME_COST": "1",
        "LOG_SHIPPING": "stdout",
        "LOG_LEVEL": "debug",
    }
    env.pop("CLICKHOUSE_DSN", None)
    subprocess.run([sys.executable, "-m", "app", "migrate"], env=env, check=True, capture_output=True)
    out_path, err_path = data / "stdout.log", data / "stderr.log"
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen([sys.executable, "-m", "app", "serve"], env=env, stdout=out, stderr=err)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(err_path.read_text() + out_path.read_text())
                time.sleep(0.2)
            with httpx.Client(base_url=base, timeout=30) as http:
                secrets = _script(http)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return Run(out_path.read_text(), err_path.read_text(), secrets)


@pytest.fixture(scope="module")
def ddl(chdb_path: Path) -> Iterator[Client]:
    client = make_client(f"chdb://{chdb_path}?database=printed_{uuid.uuid4().hex[:12]}")
    apply_schema(client, 30)
    try:
        yield client
    finally:
        client.command(f"DROP DATABASE IF EXISTS `{client.database}`")
        client.close()


def test_every_printed_line_inserts_into_the_ddl(run: Run, ddl: Client) -> None:
    lines: list[dict[str, Any]] = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    kinds = {kind: [line for line in lines if line["kind"] == kind] for kind in TABLES}
    assert sum(len(rows) for rows in kinds.values()) == len(lines), "every stdout line is a request or event line"
    assert len(kinds["request"]) >= 18
    assert {"user.registered", "user.logged_in", "user.login_failed", "refresh_token.reused", "user.logged_out"} <= {
        line["event"] for line in kinds["event"]
    }
    statuses = {line["status"] for line in kinds["request"]}
    assert {200, 201, 204, 400, 401, 404, 409, 422, 503} <= statuses
    for kind, rows in kinds.items():
        table = TABLES[kind]
        for row in rows:  # one insert per line: a failure names the line
            try:
                ddl.raw_insert(
                    table, insert_block=encode_json_each_row([row]), fmt="JSONEachRow", settings=INSERT_SETTINGS
                )
            except Exception as ex:
                raise AssertionError(f"{table} rejected {row}: {ex}") from ex
        stored = ddl.query("SELECT count() FROM {t:Identifier}", parameters={"t": table}).result_rows[0][0]
        assert stored == len(rows)
    missing = ddl.query("SELECT count() FROM request_log WHERE request_id = '' OR method = '' OR ip = ''").result_rows[
        0
    ][0]
    assert missing == 0


def test_nothing_printed_holds_a_secret_of_the_run(run: Run) -> None:
    printed = run.stdout + run.stderr
    assert len(run.secrets) == 8
    for secret in run.secrets:
        assert secret not in printed
    for token in run.secrets[2:]:  # a JWT's signature alone is as good as a leak
        assert token.rsplit(".", 1)[-1] not in printed
