"""Archive targets come from one registry: an unknown type is a 422 at creation and a clear failure at run."""

from __future__ import annotations

import typing
from uuid import UUID

import pytest
from sqlalchemy import select

from app.db.models import Archive, User
from app.domain.archives.schemas import CreateArchive
from app.domain.archives.targets import TARGETS, UnknownTargetType, target_of
from tests.conftest import bearer, register_and_login
from tests.domain.archives.helpers import wait_for

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"ARCHIVE_POLL_INTERVAL_S": "0.05"}


def test_every_target_body_the_api_accepts_has_an_implementation_and_back():
    bodies = typing.get_args(typing.get_type_hints(CreateArchive)["target"])
    tags = {body.__struct_config__.tag for body in bodies}
    assert tags == set(TARGETS) == {"local", "s3"}
    for target_type, target in TARGETS.items():
        assert target.body.__struct_config__.tag == target_type


def test_an_unknown_type_is_an_error_not_a_default():
    assert target_of("s3") is TARGETS["s3"]
    with pytest.raises(UnknownTargetType, match="unknown archive target type 'ftp'"):
        target_of("ftp")


async def test_creating_an_archive_with_an_unknown_target_type_is_422(client):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    body = {"channel": "@sandbox_news", "target": {"type": "ftp", "path": "x"}}
    response = await client.post("/archives", json=body, headers=headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"] == [{"field": "target.type", "source": "body", "message": "Invalid value 'ftp'"}]


async def test_a_stored_archive_of_an_unknown_target_type_fails_its_run_clearly(client, app):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    async with app.state.ctx.sessionmaker.begin() as session:
        owner = await session.scalar(select(User.id).where(User.email == "ada@example.com"))
        archive = Archive(
            owner_id=owner,
            channel_ref="@somewhere",
            channel_id=1234,
            channel_title="Somewhere",
            target_type="ftp",  # written by some other version, or by hand
            target={"type": "ftp", "host": "files.example"},
        )
        session.add(archive)
    done = await wait_for(client, headers, str(archive.id), {"failed"})
    assert "unknown archive target type 'ftp'" in done["last_error"]
    assert done["location"] == "ftp:?"
    async with app.state.ctx.sessionmaker() as session:
        row = await session.get(Archive, UUID(done["id"]))
        assert row is not None
        assert row.claimed_by is None  # released, not left claimed
