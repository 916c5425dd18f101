"""The webhooks API: secrets shown once, validation, tenancy (404), deliveries listing, retry and test."""

from __future__ import annotations

import pytest

from app.domain.webhooks.targets import TargetRefused, check_target
from tests.domain.webhooks.conftest import emit_events, sign_up, verify_signature
from tests.live import Receiver, eventually, running_receiver

pytestmark = pytest.mark.asyncio


async def test_secret_is_shown_on_create_and_rotate_only(http):
    headers, _ = await sign_up(http, "ada@example.com")
    created = await http.post(
        "/webhooks",
        json={"url": "https://example.com/hook", "event_types": ["message.received"], "description": "crm"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_")
    assert hook["status"] == "active"
    listed = (await http.get("/webhooks", headers=headers)).json()
    shown = (await http.get(f"/webhooks/{hook['id']}", headers=headers)).json()
    assert [h["id"] for h in listed] == [hook["id"]]
    for body in (listed[0], shown):
        assert "secret" not in body
        assert hook["secret"] not in str(body)
    rotated = (await http.post(f"/webhooks/{hook['id']}/rotate-secret", headers=headers)).json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != hook["secret"]
    patched = await http.patch(
        f"/webhooks/{hook['id']}", json={"event_types": ["*"], "max_per_second": 5}, headers=headers
    )
    assert patched.json()["event_types"] == ["*"]
    assert patched.json()["max_per_second"] == 5
    assert "secret" not in patched.json()
    assert (await http.delete(f"/webhooks/{hook['id']}", headers=headers)).status_code == 204
    assert (await http.get(f"/webhooks/{hook['id']}", headers=headers)).status_code == 404


INVALID_BODIES = [
    {"url": "ftp://example.com/x", "event_types": ["alert"]},
    {"url": "https://example.com/x", "event_types": ["message.nope"]},
    {"url": "https://example.com/x", "event_types": []},
    {"url": "https://example.com/x"},
    {"url": "https://example.com/x", "event_types": ["alert"], "secret": "mine"},
    {"url": "https://example.com/x", "event_types": ["alert"], "max_per_second": 0},
    {"url": "https:///nohost", "event_types": ["alert"]},
]


async def test_invalid_webhooks_are_422(http):
    headers, _ = await sign_up(http, "ada@example.com")
    for body in INVALID_BODIES:
        response = await http.post("/webhooks", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] in {"validation_error", "invalid_webhook_url"}


async def test_other_users_webhook_is_404_and_bad_ids_never_500(http):
    ada, _ = await sign_up(http, "ada@example.com")
    bob, _ = await sign_up(http, "bob@example.com")
    hook = (
        await http.post("/webhooks", json={"url": "https://example.com/a", "event_types": ["*"]}, headers=ada)
    ).json()
    base = f"/webhooks/{hook['id']}"
    for method, path in [
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("POST", f"{base}/rotate-secret"),
        ("GET", f"{base}/deliveries"),
        ("POST", f"{base}/test"),
        ("POST", f"{base}/deliveries/{hook['id']}/retry"),
    ]:
        response = await http.request(method, path, headers=bob, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "webhook_not_found"
    for path in ("/webhooks/not-a-uuid", "/webhooks/not-a-uuid/deliveries", f"{base}/deliveries/nope/retry"):
        response = await http.get(path, headers=ada) if "retry" not in path else await http.post(path, headers=ada)
        assert response.status_code in {404, 405, 422}
        assert "error" in response.json()
    bad_query = await http.get(f"{base}/deliveries?limit=0", headers=ada)
    assert bad_query.status_code in {400, 422}
    assert "error" in bad_query.json()
    assert (await http.get("/webhooks")).status_code == 401


@pytest.mark.parametrize("settings_overrides", [{"WEBHOOK_ALLOW_PRIVATE_TARGETS": "false"}], indirect=True)
async def test_private_targets_are_refused_when_configured(http):
    headers, _ = await sign_up(http, "ada@example.com")
    for url in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://10.1.2.3/x", "http://169.254.169.254/x"):
        response = await http.post("/webhooks", json={"url": url, "event_types": ["*"]}, headers=headers)
        assert response.status_code == 422, url
        assert response.json()["error"]["code"] == "invalid_webhook_url"


async def test_target_check_resolves_names():
    await check_target("http://127.0.0.1/x", allow_private=True)
    with pytest.raises(TargetRefused):
        await check_target("http://localhost/x", allow_private=False)
    with pytest.raises(TargetRefused):
        await check_target("http://[::ffff:127.0.0.1]/x", allow_private=False)
    with pytest.raises(TargetRefused):
        await check_target("gopher://example.com/", allow_private=True)


async def test_deliveries_filters_pagination_retry_and_test_event(app, http):
    headers, user_id = await sign_up(http, "ada@example.com")
    async with running_receiver(Receiver()) as receiver:
        hook = (
            await http.post(
                "/webhooks", json={"url": receiver.url, "event_types": ["message.received"]}, headers=headers
            )
        ).json()
        await emit_events(app, user_id, 5)
        await emit_events(app, user_id, 1, type="alert")  # not subscribed: no delivery
        sent = await http.post(f"/webhooks/{hook['id']}/test", headers=headers)
        assert sent.status_code == 202, sent.text
        assert sent.json()["delivery_id"]
        await eventually(lambda: len(receiver.requests) == 6)
        test_request = next(r for r in receiver.requests if b'"webhook.test"' in r.body)
        assert verify_signature(hook["secret"], test_request.headers, test_request.body)

        url = f"/webhooks/{hook['id']}/deliveries"
        everything = (await http.get(url, headers=headers)).json()
        assert len(everything["items"]) == 6
        assert everything["next_cursor"] is None
        assert (await http.get(f"{url}?event_type=webhook.test", headers=headers)).json()["items"][0][
            "id"
        ] == sent.json()["delivery_id"]
        assert len((await http.get(f"{url}?status=succeeded", headers=headers)).json()["items"]) == 6
        assert (await http.get(f"{url}?status=dead", headers=headers)).json()["items"] == []
        assert (await http.get(f"{url}?until=2000-01-01T00:00:00Z", headers=headers)).json()["items"] == []
        assert len((await http.get(f"{url}?since=2000-01-01T00:00:00Z", headers=headers)).json()["items"]) == 6
        seen, cursor = [], None
        while True:
            page = (
                await http.get(url, params={"limit": 4, **({"cursor": cursor} if cursor else {})}, headers=headers)
            ).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [item["id"] for item in everything["items"]]

        first = everything["items"][-1]
        retried = await http.post(f"{url}/{first['id']}/retry", headers=headers)
        assert retried.status_code == 202
        await eventually(lambda: len(receiver.requests) == 7)
    again = [r for r in receiver.requests if r.headers["webhook-id"] == receiver.requests[-1].headers["webhook-id"]]
    assert len(again) == 2  # the retry reused the delivery's webhook-id
    detail = (await http.get(f"{url}/{first['id']}", headers=headers)).json()
    assert detail["attempt"] == 2
    assert len(detail["attempts"]) == 2


async def test_test_event_for_a_disabled_webhook_conflicts(http):
    headers, _ = await sign_up(http, "ada@example.com")
    hook = (
        await http.post("/webhooks", json={"url": "https://example.com/a", "event_types": ["*"]}, headers=headers)
    ).json()
    await http.patch(f"/webhooks/{hook['id']}", json={"status": "disabled"}, headers=headers)
    response = await http.post(f"/webhooks/{hook['id']}/test", headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "webhook_disabled"
