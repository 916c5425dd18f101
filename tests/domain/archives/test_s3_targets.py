"""S3 endpoints follow the webhooks' private-target policy, are checked only after the profile check, and
every unreachable endpoint answers the same."""

from __future__ import annotations

from uuid import UUID

import pytest

from tests.conftest import bearer, register_and_login
from tests.domain.archives.helpers import channel_with_posts
from tests.domain.profiles.test_binding import bind
from tests.live import Receiver, free_port, running_receiver

pytestmark = pytest.mark.asyncio


def s3_target(endpoint: str) -> dict:
    return {"type": "s3", "bucket": "bucket", "endpoint_url": endpoint, "access_key_id": "k", "secret_access_key": "s"}


async def archive(client, headers, channel_ref: str, endpoint: str):
    body = {"channel": channel_ref, "target": s3_target(endpoint)}
    return await client.post("/archives", json=body, headers=headers)


async def ready_profile(client, app, sandbox, headers):
    profile = await bind(client, headers)
    assert await app.state.ctx.telegram.runtime.wait_connected(UUID(profile["id"]), timeout=10)
    return await channel_with_posts(sandbox, 1, members=(profile["phone"],))


@pytest.mark.parametrize("settings_overrides", [{"WEBHOOK_ALLOW_PRIVATE_TARGETS": "false"}], indirect=True)
async def test_private_endpoints_are_refused_after_the_profile_check_and_never_contacted(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    async with running_receiver(Receiver()) as fake_s3:
        endpoint = fake_s3.url.removesuffix("/hook")
        without_profile = await archive(client, headers, "@whatever", endpoint)
        assert without_profile.status_code == 409, without_profile.text
        assert without_profile.json()["error"]["code"] == "profile_not_active"

        channel = await ready_profile(client, app, sandbox, headers)
        for url in (endpoint, "http://localhost:9000", "http://169.254.169.254", "http://[::1]:9000"):
            refused = await archive(client, headers, f"@{channel.username}", url)
            assert refused.status_code == 422, (url, refused.text)
            assert refused.json()["error"]["code"] == "invalid_s3_endpoint", url
        assert fake_s3.requests == []


async def test_every_unreachable_endpoint_answers_the_same(client, app, sandbox):
    headers = bearer(await register_and_login(client, "ada@example.com"))
    channel = await ready_profile(client, app, sandbox, headers)
    answers = []
    async with (
        running_receiver(Receiver(respond=lambda _: (403, 0.0))) as denying,
        running_receiver(Receiver(respond=lambda _: (500, 0.0))) as failing,
    ):
        for endpoint in (
            f"http://127.0.0.1:{free_port()}",
            denying.url.removesuffix("/hook"),
            failing.url.removesuffix("/hook"),
        ):
            response = await archive(client, headers, f"@{channel.username}", endpoint)
            assert response.status_code == 422, response.text
            answers.append(response.json()["error"])
    assert answers[0]["code"] == "s3_unreachable"
    assert all(answer == answers[0] for answer in answers), answers
