"""Registration policy, the first-admin claim under real concurrency, the setup token and invitations, on both
backends."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.db.models import Invitation, User
from app.domain.accounts.services import create_admin
from tests.conftest import bearer

pytestmark = pytest.mark.asyncio

PASSWORD = "correct horse"
# The real argon2 cost: hashing takes long enough that a count-then-insert registration races for certain.
UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"
REAL_HASHING = {"ARGON2_TIME_COST": "3", "ARGON2_MEMORY_COST_KIB": "65536", "ARGON2_PARALLELISM": "2"}


async def register(client, email: str, **extra: str):
    return await client.post("/auth/register", json={"email": email, "password": PASSWORD, **extra})


async def login(client, email: str) -> dict[str, str]:
    response = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return bearer(response.json())


async def admin_headers(client, app, email: str = "root@example.com") -> dict[str, str]:
    ctx = app.state.ctx
    async with ctx.sessionmaker.begin() as session:
        await create_admin(session, ctx.hasher, ctx.token_policy, email, PASSWORD)
    return await login(client, email)


@pytest.mark.parametrize("settings_overrides", [REAL_HASHING], indirect=True)
async def test_concurrent_first_registrations_make_exactly_one_admin(client, app):
    responses = await asyncio.gather(*(register(client, f"racer{n}@example.com") for n in range(8)))
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    assert sorted(r.json()["role"] for r in responses) == ["admin"] + ["user"] * 7
    async with app.state.ctx.sessionmaker() as session:
        admins = await session.scalar(select(func.count()).select_from(User).where(User.role == "admin"))
    assert admins == 1
    assert (await register(client, "late@example.com")).json()["role"] == "user"


@pytest.mark.parametrize("settings_overrides", [{"REGISTRATION": "closed"}], indirect=True)
async def test_closed_registration_is_403_and_the_cli_admin_is_the_first_admin(client, app):
    refused = await register(client, "ada@example.com")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "registration_closed"
    headers = await admin_headers(client, app)
    assert (await client.get("/auth/me", headers=headers)).json()["role"] == "admin"
    # Invitations are refused too under `closed`: only a setup token or the CLI create accounts.
    token = (await client.post("/invitations", json={}, headers=headers)).json()["token"]
    assert (await register(client, "bob@example.com", invite_token=token)).json()["error"]["code"] == (
        "registration_closed"
    )


async def test_open_registration_after_a_cli_admin_makes_users(client, app):
    await admin_headers(client, app)
    assert (await register(client, "ada@example.com")).json()["role"] == "user"


@pytest.mark.parametrize("settings_overrides", [{"REGISTRATION": "invite"}], indirect=True)
async def test_setup_token_printed_once_makes_the_first_admin_and_is_consumed(capsys, client, app):
    captured = capsys.readouterr()
    match = re.search(r'"setup_token": "(setup_[A-Za-z0-9_-]+)"', captured.err)
    assert match, captured.err
    token = match.group(1)
    assert token not in captured.out  # printed for the operator, never into the JSON log lines
    wrong = await register(client, "mallory@example.com", setup_token=token + "x")
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "setup_token_invalid"
    without = await register(client, "mallory@example.com")
    assert without.status_code == 403
    assert without.json()["error"]["code"] == "invite_required"
    first = await register(client, "root@example.com", setup_token=token)
    assert first.status_code == 201, first.text
    assert first.json()["role"] == "admin"
    again = await register(client, "second@example.com", setup_token=token)
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "setup_token_invalid"


@pytest.mark.parametrize("settings_overrides", [{"REGISTRATION": "invite"}], indirect=True)
async def test_concurrent_setup_token_registrations_make_one_admin(capsys, client):
    token = re.search(r'"setup_token": "(setup_[A-Za-z0-9_-]+)"', capsys.readouterr().err).group(1)
    responses = await asyncio.gather(*(register(client, f"r{n}@example.com", setup_token=token) for n in range(6)))
    assert sorted(r.status_code for r in responses) == [201] + [403] * 5


@pytest.mark.parametrize("settings_overrides", [{"REGISTRATION": "invite"}], indirect=True)
async def test_invitations_are_single_use_expire_and_can_be_revoked(client, app):
    admin = await admin_headers(client, app)
    created = await client.post("/invitations", json={}, headers=admin)
    assert created.status_code == 201, created.text
    invitation = created.json()
    assert invitation["status"] == "pending"
    assert invitation["token"].startswith("inv_")

    listed = await client.get("/invitations", headers=admin)
    assert listed.status_code == 200
    assert invitation["token"] not in listed.text
    assert [item["id"] for item in listed.json()] == [invitation["id"]]
    async with app.state.ctx.sessionmaker() as session:
        stored = await session.scalar(select(Invitation.token_hash))
    assert stored != invitation["token"]
    assert invitation["token"] not in stored

    ada = await register(client, "ada@example.com", invite_token=invitation["token"])
    assert ada.status_code == 201, ada.text
    assert ada.json()["role"] == "user"
    reused = await register(client, "bob@example.com", invite_token=invitation["token"])
    assert reused.status_code == 403
    assert reused.json()["error"]["code"] == "invite_invalid"
    used = (await client.get("/invitations", headers=admin)).json()[0]
    assert used["status"] == "used"
    assert used["used_by"] == ada.json()["id"]
    assert (await client.delete(f"/invitations/{invitation['id']}", headers=admin)).status_code == 409

    expiring = (await client.post("/invitations", json={"expires_in_s": 60}, headers=admin)).json()
    async with app.state.ctx.sessionmaker.begin() as session:
        await session.execute(
            update(Invitation)
            .where(Invitation.token_hash != stored)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = await register(client, "carol@example.com", invite_token=expiring["token"])
    assert expired.json()["error"]["code"] == "invite_invalid"

    revoked = (await client.post("/invitations", json={}, headers=admin)).json()
    assert (await client.delete(f"/invitations/{revoked['id']}", headers=admin)).status_code == 204
    assert (await register(client, "dan@example.com", invite_token=revoked["token"])).status_code == 403
    statuses = {item["id"]: item["status"] for item in (await client.get("/invitations", headers=admin)).json()}
    assert statuses == {invitation["id"]: "used", expiring["id"]: "expired", revoked["id"]: "revoked"}

    bound = (await client.post("/invitations", json={"email": "Erin@Example.com"}, headers=admin)).json()
    assert bound["email"] == "erin@example.com"
    assert (await register(client, "eve@example.com", invite_token=bound["token"])).status_code == 403
    assert (await register(client, "erin@example.com", invite_token=bound["token"])).status_code == 201
    assert (await client.delete(f"/invitations/{UNKNOWN_ID}", headers=admin)).status_code == 404


@pytest.mark.parametrize("settings_overrides", [{"REGISTRATION": "invite"}], indirect=True)
async def test_one_invitation_used_concurrently_registers_one_account(client, app):
    admin = await admin_headers(client, app)
    token = (await client.post("/invitations", json={}, headers=admin)).json()["token"]
    responses = await asyncio.gather(*(register(client, f"p{n}@example.com", invite_token=token) for n in range(6)))
    assert sorted(r.status_code for r in responses) == [201] + [403] * 5


async def test_invitations_are_admin_only(client, app):
    await admin_headers(client, app)
    await register(client, "ada@example.com")
    user = await login(client, "ada@example.com")
    for response in (
        await client.post("/invitations", json={}, headers=user),
        await client.get("/invitations", headers=user),
        await client.delete(f"/invitations/{UNKNOWN_ID}", headers=user),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    bad = await client.post("/invitations", json={"expires_in_s": 5}, headers=await login(client, "root@example.com"))
    assert bad.status_code == 422
