"""`make run` path: migrate and serve as real processes, then the auth flow over real HTTP."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "PORT": str(port),
        "ARGON2_MEMORY_COST_KIB": "1024",
        "ARGON2_TIME_COST": "1",
        "LOG_SHIPPING": "off",
        "LOG_FORMAT": "json",
    }
    subprocess.run([sys.executable, "-m", "app", "migrate"], env=env, check=True, capture_output=True)
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "app", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise AssertionError((tmp_path / "serve.log").read_text())
    yield base, tmp_path / "serve.log"
    process.terminate()
    process.wait(timeout=20)
    log.close()


def test_served_process_runs_the_auth_flow_and_prints_request_lines(served):
    base, log_path = served
    with httpx.Client(base_url=base, timeout=10) as http:
        credentials = {"email": "ada@example.com", "password": "correct horse"}
        assert http.post("/auth/register", json=credentials).status_code == 201
        tokens = http.post("/auth/login", json=credentials).json()
        me = http.get("/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert me.json()["email"] == "ada@example.com"
        rotated = http.post("/refresh", json={"refresh_token": tokens["refresh_token"]}).json()
        out = http.post("/logout", headers={"Authorization": f"Bearer {rotated['access_token']}"})
        assert out.status_code == 204
        # The pre-rotation refresh token is rejected, and so is everything of the logged-out family.
        assert http.post("/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
        assert http.post("/refresh", json={"refresh_token": rotated["refresh_token"]}).status_code == 401
        assert http.get("/schema/openapi.json").status_code == 200
        # No trusted proxy is configured: a peer's X-Forwarded-For does not choose the client address.
        assert http.get("/health", headers={"X-Forwarded-For": "198.51.100.5"}).status_code == 200
        # The embedded sandbox data-center: a 99966XYYYY number logs in with the code XXXXX.
        headers = {"Authorization": f"Bearer {http.post('/auth/login', json=credentials).json()['access_token']}"}
        started = http.post("/profiles/start", json={"phone": "+9996624680"}, headers=headers)
        assert started.status_code == 200, started.text
        bound = http.post("/profiles/code", json={"phone": "+9996624680", "code": "22222"}, headers=headers)
        assert bound.status_code == 201, bound.text
        assert bound.json()["profile"]["status"] == "active"
    lines = log_path.read_text().splitlines()
    assert any('"kind":"request"' in line and '"path":"/auth/me"' in line for line in lines)
    assert not any(tokens["refresh_token"] in line or "correct horse" in line for line in lines)
    health_lines = [json.loads(line) for line in lines if '"path":"/health"' in line and '"kind":"request"' in line]
    assert health_lines
    assert {line["ip"] for line in health_lines} == {"127.0.0.1"}


def _first_run_env(tmp_path, **overrides: str) -> dict[str, str]:
    """A fresh clone's `make run`: development defaults, nothing migrated, no `.env`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOG_", "APP_ENV", "DATABASE_URL"))}
    return {
        **env,
        "DATA_DIR": str(tmp_path / "data"),
        "ARGON2_MEMORY_COST_KIB": "1024",
        "ARGON2_TIME_COST": "1",
        "LOG_SHIPPING": "off",
        **overrides,
    }


def test_first_serve_migrates_itself_says_ready_once_and_logs_readable_lines(tmp_path):
    port = _free_port()
    out_path = tmp_path / "out.log"
    with out_path.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            env=_first_run_env(tmp_path, PORT=str(port)),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while "ready:" not in out_path.read_text():
                assert process.poll() is None, out_path.read_text()
                assert time.monotonic() < deadline, out_path.read_text()
                time.sleep(0.1)
            assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
            while " GET /health" not in out_path.read_text():
                assert time.monotonic() < deadline, out_path.read_text()
                time.sleep(0.1)
        finally:
            process.terminate()
            process.wait(timeout=20)
    lines = out_path.read_text().splitlines()
    ready = [line for line in lines if line.startswith("ready:")]
    assert ready == [ready[0]]
    assert ready[0].startswith(f"ready: http://127.0.0.1:{port}/  dashboard")
    assert "API docs at /schema" in ready[0]
    assert "sandbox numbers +99966XYYYY" in ready[0]
    assert any(line.startswith("database migrated") for line in lines)
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d 200 GET /health [0-9.]+ ms", line) for line in lines), lines
    assert not any(line.startswith("{") for line in lines), "console format prints no JSON"


def test_serve_on_an_unmigrated_database_outside_development_says_to_migrate(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve"],
        env=_first_run_env(tmp_path, APP_ENV="test", PORT=str(_free_port())),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "cannot start: the database is not migrated: run `python -m app migrate` first"
    ]
    assert "Traceback" not in result.stdout


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "app", "serve"],
            env=_first_run_env(tmp_path, PORT=str(port)),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"cannot start: port {port} on 127.0.0.1 is already in use: stop the other process or choose another PORT"
    )
    assert "Traceback" not in result.stderr + result.stdout
