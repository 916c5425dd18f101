"""Group conversations in the dashboard: every message names its sender, service messages read as sentences."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.web.conftest import open_page, sign_up
from tests.web.test_dashboard import fresh_phone, import_profile


async def test_a_group_shows_who_wrote_each_message_and_what_happened(browser, service, sandbox):
    tokens = await sign_up(service, "groups@example.com")
    me = await import_profile(service, sandbox, tokens, "Ops")
    bob = sandbox.control.create_user(phone=fresh_phone(1).lstrip("+"), first_name="Bob")
    carol = sandbox.control.create_user(phone=fresh_phone(1).lstrip("+"), first_name="Carol")
    async with open_page(browser, service, tokens) as page:
        await page.goto("/dashboard/#inbox")
        await expect(page.locator("#live-state")).to_have_text("live")

        group = sandbox.control.create_group("Night shift", creator=bob, members=[me, carol])
        await sandbox.control.as_user(carol).send_message(group, "anyone awake?")
        conversation = page.get_by_role("button", name=re.compile(r"^Night shift, 2 unread"))
        await expect(conversation).to_be_visible(timeout=15000)
        await expect(conversation.locator(".conv-preview")).to_have_text("Carol: anyone awake?")

        await conversation.click()
        await expect(page.locator(".msg.service").first).to_have_text(re.compile("Bob created the group “Night shift”"))
        await expect(page.locator(".msg.in").last.locator(".sender")).to_have_text("Carol")

        await sandbox.control.as_user(bob).send_message(group, "I am")
        await expect(page.locator(".msg.in").last).to_contain_text("I am")
        await expect(page.locator(".msg.in").last.locator(".sender")).to_have_text("Bob")
        sandbox.control.edit_group_title(group, "Day shift", by=carol)
        await expect(page.locator(".msg.service").last).to_have_text(
            re.compile("Carol changed the title to “Day shift”")
        )
