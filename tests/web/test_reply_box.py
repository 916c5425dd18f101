"""The inbox offers a reply box only where the profile can post: not in a broadcast channel it does not admin
(there it says why), but in one it admins, in a group and in a private chat."""

from __future__ import annotations

import itertools
import re

from playwright.async_api import expect

from tests.live import eventually
from tests.web.conftest import auth, open_page, screenshot, sign_up

# Numbers of their own, in a range test_dashboard's counter does not reach.
_numbers = itertools.count(1)


def fresh_phone(digit: int) -> str:
    return f"+99966{digit}{9500 + next(_numbers):04d}"


async def import_profile(service, dc, tokens, name: str):
    """A sandbox user bound to the app user by session import (no login round trips)."""
    user = dc.control.create_user(phone=fresh_phone(3).lstrip("+"), first_name=name)
    async with service.client() as http:
        response = await http.post(
            "/profiles/import",
            headers=auth(tokens),
            json={"session_string": dc.control.login_session(user), "label": name},
        )
    assert response.status_code == 201, response.text
    return user


READ_ONLY_REASON = re.compile("broadcast channel and this profile is not one of its admins")


async def _can_post_by_title(service, tokens) -> dict[str, bool]:
    async with service.client() as http:
        response = await http.get("/conversations", headers=auth(tokens))
    assert response.status_code == 200, response.text
    return {c["title"]: c["can_post"] for group in response.json()["profiles"] for c in group["conversations"]}


async def test_reply_box_only_where_the_profile_can_post(browser, service, sandbox):
    tokens = await sign_up(service, "replybox@example.com")
    me = await import_profile(service, sandbox, tokens, "Poster")
    other = sandbox.control.create_user(phone=fresh_phone(1).lstrip("+"), first_name="Nora")
    control = sandbox.control
    control.create_channel(title="Read Only News", username="reply_ro_news", creator=other, members=[me])
    own = control.create_channel(title="Own News", username="reply_own_news", creator=me)
    control.add_member(own, other, admin=True)  # another admin posts, so the channel reaches the inbox
    control.create_channel(title="Team Room", username="reply_team_room", creator=other, broadcast=False, members=[me])

    async with open_page(browser, service, tokens) as page:
        await page.goto("/dashboard/#inbox")
        await expect(page.locator("#live-state")).to_have_text("live")
        nora = control.as_user(other)
        await nora.post("reply_ro_news", "news for readers")
        await nora.post("reply_own_news", "news by the admins")
        await nora.post("reply_team_room", "hello team")
        await nora.send_message(me, "hello Poster")
        titles = {"Read Only News", "Own News", "Team Room", "Nora"}
        await eventually(lambda: _has_all(service, tokens, titles), timeout=15)
        assert await _can_post_by_title(service, tokens) == {
            "Read Only News": False,
            "Own News": True,
            "Team Room": True,
            "Nora": True,
        }

        reply = page.get_by_label("Reply as Poster")
        reason = page.locator(".thread .no-reply")
        await page.get_by_role("button", name=re.compile("^Read Only News")).click()
        await expect(page.locator(".msg").last).to_contain_text("news for readers")
        await expect(reply).to_be_hidden()
        await expect(reason).to_be_visible()
        await expect(reason).to_have_text(READ_ONLY_REASON)
        await screenshot(page, "inbox-broadcast-read-only")

        for title, text in (("Own News", "news by the admins"), ("Team Room", "hello team"), ("Nora", "hello Poster")):
            await page.get_by_role("button", name=re.compile(f"^{title}")).click()
            await expect(page.locator(".msg").last).to_contain_text(text)
            await expect(reply).to_be_visible()
            await expect(reason).to_be_hidden()

        # Where the box is offered, it works: a post in the channel the profile admins is sent.
        await page.get_by_role("button", name=re.compile("^Own News")).click()
        await reply.fill("an admin's post")
        await reply.press("Enter")
        await expect(page.locator(".msg").last).to_contain_text("an admin's post")
        await expect(page.locator(".msg").last).to_have_attribute("data-status", "sent")


async def _has_all(service, tokens, titles: set[str]) -> bool:
    return titles <= set(await _can_post_by_title(service, tokens))
