"""Key rotation re-encrypts every secret at rest; old keys keep decrypting until removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from app.db.models import TelegramProfile
from app.domain.system.keys import reencrypt_all
from app.lib.crypto import DecryptionError, SecretBox, generate_key
from tests.conftest import bearer, register_and_login
from tests.domain.profiles.test_binding import bind


async def test_rotation_reencrypts_profiles_under_the_new_key(client, app):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    await bind(client, headers)
    ctx = app.state.ctx
    old_keys = ctx.settings.encryption_keys
    async with ctx.sessionmaker() as session:
        before = (await session.scalars(select(TelegramProfile))).one()
    plaintext = ctx.secret_box.decrypt(before.session_encrypted)
    new_key = generate_key()
    counts = await reencrypt_all(ctx.sessionmaker, SecretBox([new_key, *old_keys]))
    assert counts["telegram_profiles"] == 1
    async with ctx.sessionmaker() as session:
        after = (await session.scalars(select(TelegramProfile))).one()
    assert after.session_encrypted != before.session_encrypted
    assert SecretBox([new_key]).decrypt(after.session_encrypted) == plaintext
    with pytest.raises(DecryptionError):
        SecretBox(list(old_keys)).decrypt(after.session_encrypted)


def test_cli_rotate_adds_an_embedded_key(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path), "LOG_SHIPPING": "off"}
    env.pop("ENCRYPTION_KEYS", None)
    subprocess.run([sys.executable, "-m", "app", "migrate"], env=env, check=True, capture_output=True)
    first = json.loads((tmp_path / "secrets.json").read_text())
    result = subprocess.run([sys.executable, "-m", "app", "keys", "rotate"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "re-encrypted" in result.stdout
    second = json.loads((tmp_path / "secrets.json").read_text())
    assert len(second["encryption_keys"]) == 2
    assert second["encryption_keys"][1] == first["encryption_key"]
    assert oct(os.stat(tmp_path / "secrets.json").st_mode)[-3:] == "600"
