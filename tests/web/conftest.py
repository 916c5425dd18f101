"""Dashboard tests: Debian's Chromium driven by Playwright against a real `python -m app serve` process.

The sandbox data-center runs in the test's event loop (so tests can use its control API: 2FA users, contacts
that write); the service is a subprocess pointed at it; the browser talks to the service over real HTTP/WS.
Without /usr/bin/chromium (installing it needs root: `make browser`) every test here is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db.migrations import upgrade
from app.sandbox import SandboxDC
from tests.conftest import FAST_HASHING, make_settings, sandbox_env
from tests.live import free_port

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse"


@pytest.fixture(scope="session", autouse=True)
def _chromium_available() -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            f"dashboard tests need Debian's Chromium at {CHROMIUM}; install it with `make browser` "
            "(apt-get install chromium, needs root)"
        )


@dataclass
class Service:
    base: str
    log: Path

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, timeout=20)


async def _run(*args: str, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    handle = log.open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app", *args, env=env, stdout=handle, stderr=asyncio.subprocess.STDOUT
        )
    finally:
        handle.close()


@pytest.fixture(scope="session")
async def service(sandbox: SandboxDC, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    """The migrated database and `python -m app serve` on a free port, Telegram pointed at the sandbox."""
    tmp = tmp_path_factory.mktemp("web")
    port = free_port()
    env = {
        **os.environ,
        **FAST_HASHING,
        **sandbox_env(sandbox),
        "APP_ENV": "test",
        "DATA_DIR": str(tmp / "data"),
        "PORT": str(port),
        "LOG_SHIPPING": "embedded",
        "WEBHOOK_POLL_INTERVAL_S": "0.05",
        "WEBHOOK_RETRY_SCHEDULE_S": "60,120",
        "PROFILE_HEALTH_INTERVAL_S": "0.5",  # the health badge changes while a test watches
    }
    log = tmp / "serve.log"
    # Migrated in this process (already warm) instead of a `migrate` process: start-up is most of the suite's time.
    await asyncio.to_thread(upgrade, make_settings(tmp / "data"))
    process = await _run("serve", env=env, log=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a guard against a hang, not a speed check: a loaded CI starts slowly
    async with httpx.AsyncClient(timeout=1) as http:
        while True:
            if process.returncode is not None or time.monotonic() > deadline:
                process.kill() if process.returncode is None else None
                raise AssertionError(f"serve did not start:\n{log.read_text()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{base}/health")).status_code == 200:
                    break
            await asyncio.sleep(0.1)
    try:
        yield Service(base, log)
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


class PageErrors(list[str]):
    """Uncaught script errors and CSP violations of a page: a test fails when there are any."""


@contextlib.asynccontextmanager
async def open_page(browser: Any, service: Service, tokens: dict[str, Any] | None = None, viewport: dict | None = None):
    """A fresh browser context on the dashboard; with `tokens`, already signed in (sessionStorage)."""
    context = await browser.new_context(viewport=viewport or DESKTOP, base_url=service.base)
    if tokens is not None:
        stored = {"access": tokens["access_token"], "refresh": tokens["refresh_token"], "email": tokens["email"]}
        await context.add_init_script(
            f"sessionStorage.setItem('tgmp.tokens', JSON.stringify({__import__('json').dumps(stored)}));"
        )
    page = await context.new_page()
    errors = PageErrors()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.errors = errors
    try:
        yield page
    finally:
        await context.close()
    assert not errors, errors


async def sign_up(service: Service, email: str) -> dict[str, Any]:
    """Register and sign in over the API; the token pair plus the email."""
    async with service.client() as http:
        assert (await http.post("/auth/register", json={"email": email, "password": PASSWORD})).status_code == 201
        response = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {**response.json(), "email": email}


def auth(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def screenshot(page: Any, name: str) -> None:
    """Save `<name>-desktop.png` and `<name>-phone.png` of the current page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(viewport)
        await page.wait_for_timeout(50)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(size)
