"""The issue's "done when", in the browser: sign-up and sign-in with token refresh, binding a profile with 2FA,
the live inbox with reply, channels, webhooks with a delivery, logs; a screenshot of every page."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from typing import Any

from playwright.async_api import expect

from app.sandbox import SandboxDC
from tests.domain.webhooks.conftest import verify_signature
from tests.live import Receiver, eventually, running_receiver
from tests.web.conftest import PASSWORD, Service, auth, open_page, screenshot, sign_up

_numbers = itertools.count(1)
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def fresh_phone(digit: int) -> str:
    """A sandbox test number +99966XYYYY (code XXXXX), distinct from the ones other suites use."""
    return f"+99966{digit}{8000 + next(_numbers):04d}"


async def import_profile(service: Service, dc: SandboxDC, tokens: dict[str, Any], name: str) -> Any:
    """A sandbox user bound to the app user by session import (no login round trips)."""
    phone = fresh_phone(3)
    user = dc.control.create_user(phone=phone.lstrip("+"), first_name=name)
    async with service.client() as http:
        response = await http.post(
            "/profiles/import",
            headers=auth(tokens),
            json={"session_string": dc.control.login_session(user), "label": name},
        )
    assert response.status_code == 201, response.text
    return user


async def test_register_sign_in_refresh_and_sign_out(browser, service):
    async with open_page(browser, service) as page:
        await page.goto("/")
        assert page.url.endswith("/dashboard/")
        await page.get_by_role("button", name="Create an account instead").click()
        await page.get_by_label("Email").fill("ada@example.com")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("heading", name="Inbox", level=1)).to_be_visible()
        await expect(page.locator("#user-email")).to_have_text("ada@example.com")
        await expect(page.locator("#live-state")).to_have_text("live")
        await screenshot(page, "signed-in")

        # An access token the server rejects is refreshed once, transparently (the page keeps working).
        before = json.loads(await page.evaluate("sessionStorage.getItem('tgmp.tokens')"))
        await page.evaluate(
            "sessionStorage.setItem('tgmp.tokens', JSON.stringify({...JSON.parse(sessionStorage.getItem("
            "'tgmp.tokens')), access: 'not-a-token'}))"
        )
        await page.reload()
        await page.get_by_role("link", name="Profiles").click()
        await expect(page.get_by_text("No profiles yet")).to_be_visible()
        after = json.loads(await page.evaluate("sessionStorage.getItem('tgmp.tokens')"))
        assert after["refresh"] != before["refresh"]
        assert after["access"] != "not-a-token"

        # Someone replays the rotated refresh token: the login is revoked, the server closes the page's live
        # socket (4401), and the page signs out at once, without waiting for its next request, saying why.
        await expect(page.locator("#live-state")).to_have_text("live")
        async with service.client() as http:
            assert (await http.post("/refresh", json={"refresh_token": before["refresh"]})).status_code == 401
        await expect(page.locator("#auth-view")).to_be_visible()
        await expect(page.locator("#auth-error")).to_contain_text("Sign in again")

        # Sign in again with a wrong then the right password, then sign out.
        await page.get_by_label("Email").fill("ada@example.com")
        await page.get_by_label("Password").fill("wrong password")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#auth-error")).to_have_text("The email or the password is wrong.")
        await screenshot(page, "sign-in")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#app-view")).to_be_visible()
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.locator("#auth-view")).to_be_visible()
        assert await page.evaluate("sessionStorage.getItem('tgmp.tokens')") is None


async def test_bind_a_profile_with_2fa_and_errors_in_words(browser, service, sandbox):
    tokens = await sign_up(service, "bind@example.com")
    phone = fresh_phone(2)
    sandbox.control.create_user(phone=phone.lstrip("+"), first_name="Grace", password="hunter2", hint="the usual")
    async with open_page(browser, service, tokens) as page:
        await page.goto("/dashboard/#profiles")
        await page.get_by_label("Phone number").fill(phone)
        await page.get_by_label("Label (optional)").first.fill("Support desk")
        await page.get_by_role("button", name="Send code").click()
        code = page.get_by_label("Login code")
        await expect(code).to_be_focused()
        await expect(page.get_by_text("Telegram sent the 5-digit code by SMS.")).to_be_visible()  # no other session
        await code.fill("00000")
        await page.get_by_role("button", name="Verify code").click()
        await expect(page.get_by_role("alert").filter(has_text="code")).to_have_text(
            "That code is not right. Check the code Telegram sent and try again."
        )
        await code.fill("22222")
        await page.get_by_role("button", name="Verify code").click()
        password = page.get_by_label("Two-step verification password")
        await expect(password).to_be_focused()
        await expect(page.get_by_text("hint: the usual")).to_be_visible()
        await password.fill("wrong")
        await page.get_by_role("button", name="Verify password").click()
        await expect(page.get_by_text("The two-step verification password is wrong.")).to_be_visible()
        await password.fill("hunter2")
        await page.get_by_role("button", name="Verify password").click()
        row = page.locator(f"tr[data-phone='{phone}']")
        await expect(row).to_contain_text("Support desk")
        await expect(row).to_contain_text("active")
        await screenshot(page, "profiles")

        # Deactivate and activate again: the status follows.
        await row.get_by_role("button", name=f"Deactivate {phone}").click()
        await expect(row).to_contain_text("inactive")
        await row.get_by_role("button", name=f"Activate {phone}").click()
        await expect(row.get_by_role("button", name=f"Deactivate {phone}")).to_be_visible()


async def test_the_profile_row_shows_its_health_badge_live(browser, service, sandbox):
    tokens = await sign_up(service, "health@example.com")
    me = await import_profile(service, sandbox, tokens, "Watch")
    async with open_page(browser, service, tokens) as page:
        await page.goto("/dashboard/#profiles")
        row = page.locator(f"tr[data-phone='+{me.phone}']")
        await expect(row.locator(".health")).to_contain_text("health: healthy", timeout=15000)
        sandbox.control.freeze(me, days=7)
        # Only the health_changed event can bring the new badge: the page does not poll.
        await expect(row.locator("[data-health='frozen']")).to_contain_text("health: frozen", timeout=15000)
        sandbox.control.unfreeze(me)
        await expect(row.locator("[data-health='ok']")).to_be_visible(timeout=15000)


async def test_inbox_shows_a_message_live_and_the_reply_turns_sent(browser, service, sandbox):
    tokens = await sign_up(service, "inbox@example.com")
    me = await import_profile(service, sandbox, tokens, "Ops")
    contact = sandbox.control.create_user(phone=fresh_phone(1).lstrip("+"), first_name="Linus", username="linus_web")
    async with open_page(browser, service, tokens) as page:
        await page.goto("/dashboard/#inbox")
        await expect(page.locator("#live-state")).to_have_text("live")

        await sandbox.control.as_user(contact).send_message(me, "hello from Linus")
        # The page never polls: the conversation can only appear through the live stream.
        conversation = page.get_by_role("button", name="Linus, 1 unread")
        await expect(conversation).to_be_visible(timeout=15000)

        await conversation.click()
        await expect(page.locator(".msg.in").last).to_contain_text("hello from Linus")

        # Telegram text is text: markup in a message is shown, never run.
        await sandbox.control.as_user(contact).send_message(me, XSS)
        await expect(page.locator(".msg.in").last.locator(".text")).to_have_text(XSS)
        assert await page.evaluate("window.__xss") is None
        assert await page.locator(".messages img, .messages script").count() == 0

        reply = page.get_by_label("Reply as Ops")
        await reply.fill("on it")
        await reply.press("Enter")
        outgoing = page.locator(".msg.out").last
        await expect(outgoing).to_contain_text("on it")
        await expect(outgoing).to_have_attribute("data-status", "sent")
        await screenshot(page, "inbox")


async def test_inbox_replays_what_arrived_during_a_network_blip(browser, service, sandbox):
    tokens = await sign_up(service, "blip@example.com")
    me = await import_profile(service, sandbox, tokens, "Blip")
    contact = sandbox.control.create_user(phone=fresh_phone(1).lstrip("+"), first_name="Ada")
    urls: list[str] = []
    sockets: list[Any] = []
    blocked = False

    async def route(ws: Any) -> None:
        urls.append(ws.url)
        if blocked:
            await ws.close(code=1011)  # the service is unreachable for now
        else:
            ws.connect_to_server()
            sockets.append(ws)

    async with open_page(browser, service, tokens) as page:
        await page.route_web_socket("**/events*", route)
        await page.goto("/dashboard/#inbox")
        await expect(page.locator("#live-state")).to_have_text("live")
        await sandbox.control.as_user(contact).send_message(me, "before the blip")
        await page.get_by_role("button", name="Ada, 1 unread").click()
        await expect(page.locator(".msg.in").last).to_contain_text("before the blip")

        blocked = True
        await sockets[-1].close(code=1006)
        await expect(page.locator("#live-state")).to_have_text("reconnecting")
        await sandbox.control.as_user(contact).send_message(me, "during the blip")
        await asyncio.sleep(0.5)
        blocked = False
        await expect(page.locator(".msg.in").last).to_contain_text("during the blip", timeout=15000)
        await expect(page.locator("#live-state")).to_have_text("live")
        assert "since=" in urls[-1], urls


async def test_webhook_created_tested_retried_and_delivered(browser, service):
    tokens = await sign_up(service, "hooks@example.com")
    answer = {"status": 500}
    receiver = Receiver(respond=lambda _: (answer["status"], 0.0))
    async with running_receiver(receiver), open_page(browser, service, tokens) as page:
        await page.goto("/dashboard/#webhooks")
        await page.get_by_label("Endpoint URL").fill(receiver.url)
        await page.get_by_label("alert").check()
        await page.get_by_role("button", name="Create webhook").click()
        secret = page.locator(".secret-value")
        await expect(secret).to_have_text(re.compile(r"^whsec_"))
        secret_text = await secret.inner_text()
        await expect(page.get_by_role("button", name="I have saved it")).to_be_focused()
        await screenshot(page, "webhook-secret")
        await page.get_by_role("button", name="I have saved it").click()
        await expect(page.locator(".secret")).to_be_hidden()
        assert secret_text not in await page.content()

        # The first attempt fails (500); after the receiver recovers, Retry delivers it.
        hook = page.locator("article.hook").first
        await hook.get_by_role("button", name="Send test").click()
        retry = hook.get_by_role("button", name="Retry delivery of webhook.test")
        await expect(hook.locator("tbody tr").first).to_contain_text("500", timeout=10000)
        answer["status"] = 200
        await retry.click()
        await expect(hook.locator("tr[data-status='succeeded']")).to_have_count(1, timeout=10000)
        await eventually(lambda: any(r for r in receiver.requests if r.headers.get("webhook-signature")))
        assert verify_signature(secret_text, receiver.requests[-1].headers, receiver.requests[-1].body)
        assert json.loads(receiver.requests[-1].body)["type"] == "webhook.test"
        await screenshot(page, "webhooks")

        await hook.get_by_role("button", name="Edit").click()
        await hook.get_by_label("Description").fill("ops pager")
        await hook.get_by_role("button", name="Save").click()
        await expect(page.locator("article.hook").first).to_contain_text("ops pager")
        page.once("dialog", lambda dialog: dialog.accept())
        await page.locator("article.hook").first.get_by_role("button", name="Delete").click()
        await expect(page.get_by_text("No webhooks yet.")).to_be_visible()


async def test_logs_page_filters_request_and_event_rows(browser, service):
    tokens = await sign_up(service, "logs@example.com")
    async with service.client() as http:
        assert (await http.get("/webhooks", headers=auth(tokens))).status_code == 200
    async with open_page(browser, service, tokens) as page:
        await page.goto("/dashboard/#logs")
        await expect(page.get_by_role("heading", name="Logs", level=1)).to_be_visible()
        await page.get_by_label("Path prefix").fill("/webhooks")

        async def shown(text: str) -> bool:
            # Rows reach ClickHouse in batches: ask again until the one looked for is there.
            await page.get_by_role("button", name="Show").click()
            await expect(page.locator("section[aria-label='Log rows']")).to_have_attribute("aria-busy", "false")
            return text in await page.locator("section[aria-label='Log rows']").inner_text()

        await eventually(lambda: shown("/webhooks"), timeout=15)
        await page.get_by_label("Log", exact=True).select_option("event")
        await eventually(lambda: shown("user.logged_in"), timeout=15)
        await screenshot(page, "logs")


async def test_channels_page_strikes_deleted_posts_through(browser, service, sandbox):
    tokens = await sign_up(service, "channels@example.com")
    async with open_page(browser, service, tokens) as page:
        await page.goto("/dashboard/#channels")
        await expect(page.get_by_role("heading", name="Channels", level=1)).to_be_visible()
        me = await import_profile(service, sandbox, tokens, "Watcher")
        owner = sandbox.control.create_user(phone=fresh_phone(1).lstrip("+"), first_name="Owner")
        sandbox.control.create_channel(title="Web News", username="web_news_dash", creator=owner, broadcast=True)
        post_id = await sandbox.control.as_user(owner).post("web_news_dash", "soon deleted")
        await page.reload()
        await page.get_by_label("Channel", exact=True).fill("@web_news_dash")
        await page.get_by_role("button", name="Add channel").click()
        await page.get_by_role("button", name="Open feed of Web News").click()
        await expect(page.locator(".feed")).to_contain_text("soon deleted", timeout=10000)
        await sandbox.control.as_user(owner).delete_messages("web_news_dash", [post_id])
        await expect(page.locator(".feed del.text")).to_have_text("soon deleted", timeout=10000)
        del me
        await screenshot(page, "channels")


async def test_register_form_sends_an_invitation_token_and_explains_a_bad_one(browser, service):
    async with open_page(browser, service) as page:
        await page.goto("/dashboard/")
        await expect(page.get_by_label("Invitation or setup token")).to_be_hidden()  # sign-in needs none
        await page.get_by_role("button", name="Create an account instead").click()
        await page.get_by_label("Email").fill("invited@example.com")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_label("Invitation or setup token").fill("inv_not-a-real-invitation")
        await page.get_by_role("button", name="Create account").click()
        await expect(page.locator("#auth-error")).to_contain_text("That invitation is not valid")
        await page.get_by_label("Invitation or setup token").fill("setup_not-the-printed-one")
        await page.get_by_role("button", name="Create account").click()
        await expect(page.locator("#auth-error")).to_contain_text("That setup token is not valid")
        await screenshot(page, "register-invitation")
