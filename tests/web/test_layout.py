"""Every dashboard page at 1280 px and 390 px: a screenshot each, and nothing wider than the screen or its card.

Pages are filled the way a first user fills them (a bound profile with the sandbox's welcome messages, a webhook
with a delivery, log rows), because empty pages hide what overflows.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from app.sandbox import SandboxDC
from tests.live import Receiver, eventually, running_receiver
from tests.web.conftest import DESKTOP, PHONE, SCREENSHOTS, Service, auth, open_page, sign_up
from tests.web.test_dashboard import import_profile

PAGES = {"inbox": "Inbox", "profiles": "Profiles", "channels": "Channels", "webhooks": "Webhooks", "logs": "Logs"}

# Elements that stick out of the viewport or of their card; hidden helpers (skip link, screen-reader text,
# the phone layout's off-screen table headers) are meant to be off-screen.
OVERFLOWING = """
() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  if (document.documentElement.scrollWidth > width + 1) {
    found.push(`the page scrolls sideways (${document.documentElement.scrollWidth} > ${width} px)`);
  }
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
    ' "' + (el.textContent || '').trim().slice(0, 30) + '"';
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.sr-only, .skip-link, thead, [hidden]')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.right > width + 1 || box.left < -1) {
      found.push(`${name(el)} leaves the screen (${Math.round(box.left)}..${Math.round(box.right)} of ${width})`);
    }
    const card = el.parentElement ? el.parentElement.closest('.card, .inbox-list, .thread') : null;
    if (card) {
      const outer = card.getBoundingClientRect();
      if (box.right > outer.right + 1) {
        found.push(`${name(el)} sticks out of its card by ${Math.round(box.right - outer.right)} px`);
      }
    }
  }
  return found.slice(0, 15);
}
"""


async def _fill_like_a_first_user(service: Service, sandbox: SandboxDC, tokens: dict[str, Any], url: str) -> None:
    await import_profile(service, sandbox, tokens, "Layout Person")
    async with service.client() as http:
        created = await http.post(
            "/webhooks", headers=auth(tokens), json={"url": url, "event_types": ["message.received"]}
        )
        assert created.status_code == 201, created.text
        hook = created.json()["id"]
        assert (await http.post(f"/webhooks/{hook}/test", headers=auth(tokens))).status_code == 202

        async def delivered() -> bool:
            page = await http.get(f"/webhooks/{hook}/deliveries", headers=auth(tokens))
            return bool(page.json()["items"])

        await eventually(delivered, timeout=15)


async def test_every_page_fits_desktop_and_phone_widths(browser, service, sandbox):
    tokens = await sign_up(service, "layout@example.com")
    receiver = Receiver(respond=lambda _: (200, 0.0))
    async with running_receiver(receiver):
        await _fill_like_a_first_user(service, sandbox, tokens, receiver.url)
        problems: dict[str, list[str]] = {}
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            async with open_page(browser, service, tokens, viewport=viewport) as page:
                for page_id, heading in PAGES.items():
                    await page.goto(f"/dashboard/#{page_id}")
                    await expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
                    await expect(page.locator("[aria-busy='true']")).to_have_count(0, timeout=15000)
                    # The service runs on the sandbox: every page says so, with the numbers that log in.
                    await expect(page.locator("#sandbox-banner")).to_contain_text("+99966XYYYY")
                    if page_id == "webhooks":  # the delivery rows, in the phone layout cards with their labels
                        await page.get_by_role("button", name="Deliveries").click()
                        await expect(page.locator(".deliveries tbody tr").first).to_be_visible()
                        cells = page.locator(".deliveries tbody tr").first.locator("td[data-label]")
                        assert await cells.count() >= 6
                        # Dates carry their time ("today, 20:15:02", or the date and the time before today).
                        created = cells.filter(has=page.locator("time")).first.locator("time")
                        await expect(created).to_have_text(re.compile(r"(^today, |\d{4}).*\d\d:\d\d:\d\d"))
                    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                    await page.screenshot(path=str(SCREENSHOTS / f"layout-{page_id}-{label}.png"), full_page=True)
                    found = await page.evaluate(OVERFLOWING)
                    if found:
                        problems[f"{page_id} at {viewport['width']} px"] = found
    assert problems == {}, "\n".join(f"{where}: {found}" for where, found in problems.items())


async def test_empty_states_link_to_the_next_step(browser, service):
    tokens = await sign_up(service, "empty@example.com")
    async with open_page(browser, service, tokens) as page:
        await page.goto("/dashboard/#inbox")
        await page.get_by_role("link", name="Connect a profile").click()
        await expect(page.get_by_role("heading", name="Profiles", level=1)).to_be_visible()
        await page.goto("/dashboard/#webhooks")
        await expect(page.get_by_role("link", name="Webhooks in the API docs")).to_have_attribute(
            "href", re.compile("/schema")
        )
