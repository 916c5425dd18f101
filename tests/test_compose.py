"""docker-compose.yml against the Compose Specification's JSON schema, and what a first `docker compose up` needs.

No Docker engine runs where the tests do: the file is validated with the specification's own schema
(tests/compose/compose-spec.json), interpolated the way compose does with the lines `keys generate --env` prints.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.live import free_port

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "compose" / "compose-spec.json"
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def _compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


def _interpolate(node: Any, env: dict[str, str]) -> Any:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` in every string of the parsed file, as compose
    does it (after parsing, so a value keeps its YAML type); an unset required variable fails."""
    if isinstance(node, dict):
        return {key: _interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolate(value, env) for value in node]
    return _substitute(node, env) if isinstance(node, str) else node


def _substitute(text: str, env: dict[str, str]) -> str:

    def replace(match: re.Match[str]) -> str:
        value = env.get(match["name"], "")
        if value:
            return value
        if match["op"] == ":?":
            raise LookupError(f"{match['name']}: {match['arg']}")
        return match["arg"] or ""

    return _VARIABLE.sub(replace, text)


def _keys_env(*flags: str) -> dict[str, str]:
    printed = subprocess.run(
        [sys.executable, "-m", "app", "keys", "generate", "--env", *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split("=", 1) for line in printed.splitlines())


def _errors(document: Any) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, error.path))}: {error.message}" for error in validator.iter_errors(document)]


@pytest.fixture(scope="module")
def sandbox_env() -> dict[str, str]:
    return _keys_env("--sandbox")


@pytest.fixture(scope="module")
def compose(sandbox_env: dict[str, str]) -> dict[str, Any]:
    return dict(_interpolate(yaml.safe_load(_compose_text()), sandbox_env))


def test_the_compose_file_follows_the_compose_specification(compose):
    assert _errors(yaml.safe_load(_compose_text())) == []
    assert _errors(compose) == []
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_finished"
    broken["services"]["api"]["restart_policy"] = "always"
    assert len(_errors(broken)) == 2, "the validator sees a value outside its enum and an unknown key"


def test_keys_generate_env_prints_every_variable_compose_requires():
    required = {match["name"] for match in _VARIABLE.finditer(_compose_text()) if match["op"] == ":?"}
    assert required >= {"JWT_SECRET", "ENCRYPTION_KEYS", "METRICS_TOKEN"}
    printed = _keys_env()
    assert required <= {name for name, value in printed.items() if value}
    assert printed["POSTGRES_PASSWORD"] not in {"", "app"}
    assert printed["CLICKHOUSE_PASSWORD"] not in {"", "logs"}
    assert printed["JWT_SECRET"] != _keys_env()["JWT_SECRET"], "fresh secrets every time"
    with pytest.raises(LookupError, match="JWT_SECRET"):
        _interpolate(yaml.safe_load(_compose_text()), {})  # without .env, compose stops with that sentence


def test_app_containers_listen_on_every_interface_and_are_probed_from_outside_the_loopback(compose):
    services = compose["services"]
    for name in ("api", "worker", "migrate"):
        environment = services[name]["environment"]
        assert environment["HOST"] == "0.0.0.0", name
        assert environment["PORT"] == "8000", name
        assert environment["METRICS_TOKEN"], name
    probe = " ".join(services["api"]["healthcheck"]["test"])
    assert "127.0.0.1" not in probe
    assert "gethostname" in probe
    assert services["api"]["ports"][0].endswith(":8000")


def test_every_container_rotates_its_log_and_the_long_running_ones_have_health_checks(compose):
    for name, service in compose["services"].items():
        assert service["logging"]["options"]["max-size"], name
        assert service["logging"]["options"]["max-file"], name
    for name in ("postgres", "redis", "clickhouse", "vector", "api", "sandbox"):
        assert not compose["services"][name]["healthcheck"].get("disable"), name
    assert "8686" in " ".join(compose["services"]["vector"]["healthcheck"]["test"])


def test_the_sandbox_profile_connects_api_and_worker_to_the_sandbox_container(compose, sandbox_env):
    sandbox = compose["services"]["sandbox"]
    assert sandbox["profiles"] == ["sandbox"]
    command = sandbox["command"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert sandbox_env["TELEGRAM_DC"] == f"sandbox:{port}"
    key_path = command[command.index("--public-key") + 1]
    assert sandbox_env["TELEGRAM_EXTRA_RSA_KEY"] == key_path
    for name in ("api", "worker"):
        service = compose["services"][name]
        assert service["environment"]["TELEGRAM_MODE"] == "sandbox"
        assert service["environment"]["TELEGRAM_EXTRA_RSA_KEY"] == key_path
        assert service["depends_on"]["sandbox"] == {"condition": "service_healthy", "required": False}
        mounts = [volume for volume in service["volumes"] if volume.startswith("sandbox-keys:")]
        assert mounts == [f"sandbox-keys:{Path(key_path).parent}:ro"]


def test_the_sandbox_containers_command_listens_where_compose_says_and_writes_the_key(compose, tmp_path):
    """The compose command run for real, with the container's paths moved into tmp_path."""
    command = [
        str(tmp_path / Path(arg).name) if arg.startswith("/app/") else arg
        for arg in compose["services"]["sandbox"]["command"]
    ]
    port = free_port()
    command[command.index("--port") + 1] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "app", *command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("SANDBOX READY"):
                break
        assert line.strip() == f"SANDBOX READY 0.0.0.0:{port}"
        assert "BEGIN RSA PUBLIC KEY" in (tmp_path / "sandbox.pub.pem").read_text()
    finally:
        process.terminate()
        process.wait(timeout=20)
