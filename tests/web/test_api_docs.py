"""`/schema` in Chromium with every request to another host refused: the API documentation renders offline."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import expect

from tests.web.conftest import DESKTOP, Service


async def _offline_page(browser: Any, service: Service) -> tuple[Any, Any, list[str]]:
    """A page whose requests to anything but the service are aborted (and recorded)."""
    context = await browser.new_context(viewport=DESKTOP, base_url=service.base)
    refused: list[str] = []

    async def only_localhost(route: Any) -> None:
        if urlsplit(route.request.url).hostname in {"127.0.0.1", "localhost"}:
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_localhost)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return context, page, refused


async def test_api_docs_render_without_internet(browser, service):
    context, page, refused = await _offline_page(browser, service)
    try:
        await page.goto("/schema")  # /schema/swagger is the same page
        await expect(page.locator(".information-container .title")).to_contain_text("Telegram Multi-Profile API")
        # The operations of the document are rendered, e.g. the login operation with its path.
        await expect(page.locator(".opblock-summary-path", has_text="/auth/login").first).to_be_visible()
        assert await page.locator(".opblock").count() > 20
        assert refused == [], f"the docs tried to load from other hosts: {refused}"
        assert page.errors == []
    finally:
        await context.close()
