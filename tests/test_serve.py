"""`make run` path: migrate and serve as real processes, then the auth flow over real HTTP."""

from __future__ import annotations

import json
import os
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
