"""Key rotation re-encrypts archive S3 credentials; archives without credentials are left alone."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.db.models import Archive, User
from app.domain.system.keys import reencrypt_all
from app.lib.crypto import SecretBox, generate_key
from tests.conftest import register_and_login

pytestmark = pytest.mark.asyncio


def archive(owner_id, secret):
    return Archive(
        owner_id=owner_id,
        channel_ref="@news",
        channel_id=1,
        channel_title="News",
        target_type="s3" if secret else "local",
        target={"type": "s3", "bucket": "b"} if secret else {"type": "local", "path": "p"},
        target_secret_encrypted=secret,
    )


async def test_rotation_reencrypts_archive_credentials(client, app):
    await register_and_login(client, "ada@example.com")
    ctx = app.state.ctx
    credentials = json.dumps({"access_key_id": "AKID", "secret_access_key": "s3cret"})
    async with ctx.sessionmaker.begin() as session:
        owner_id = await session.scalar(select(User.id))
        session.add_all([archive(owner_id, ctx.secret_box.encrypt(credentials)), archive(owner_id, None)])
    new_key = generate_key()
    counts = await reencrypt_all(ctx.sessionmaker, SecretBox([new_key, *ctx.settings.encryption_keys]))
    assert counts["archives"] == 2
    async with ctx.sessionmaker() as session:
        secrets = sorted(await session.scalars(select(Archive.target_secret_encrypted)), key=lambda s: s is None)
    assert secrets[1] is None
    assert SecretBox([new_key]).decrypt(secrets[0]) == credentials
