"""JSON persistence of `SandboxState`, written atomically (temp file + rename) so a crash never leaves half a file."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import types
import typing
from pathlib import Path
from typing import Any

from .state import SandboxState

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(inner[0], value)
    if origin is dict:
        key_type, value_type = typing.get_args(tp)
        return {key_type(k): _decode(value_type, v) for k, v in value.items()}
    if origin is list:
        (item_type,) = typing.get_args(tp)
        return [_decode(item_type, v) for v in value]
    if tp is bytes:
        return bytes.fromhex(value)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        known = {f.name for f in dataclasses.fields(tp)}
        return tp(**{k: _decode(hints[k], v) for k, v in value.items() if k in known})
    return value


def dump_state(state: SandboxState) -> str:
    return json.dumps({"version": FORMAT_VERSION, "state": _encode(state)}, separators=(",", ":"))


def load_state(text: str) -> SandboxState:
    data = json.loads(text)
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"unsupported sandbox state version {data.get('version')}")
    state = _decode(SandboxState, data["state"])
    assert isinstance(state, SandboxState)
    return state


def read_state_file(path: Path) -> SandboxState:
    """Load the state file, or start empty when it does not exist yet."""
    if not path.exists():
        return SandboxState()
    return load_state(path.read_text(encoding="utf-8"))


def write_state_file(path: Path, state: SandboxState) -> None:
    """Write atomically: a reader sees either the old file or the new one, never a torn write."""
    payload = dump_state(state)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
