"""The dashboard: the static files of `app/web` under `/dashboard/`, and `GET /` redirecting there."""

from __future__ import annotations

from pathlib import Path

from litestar import Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# Scripts and styles only from this origin, no inline code, no plugins, no framing: even if some text slipped
# into the DOM as markup, the browser would refuse to run it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


async def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def dashboard_router() -> Router:
    """`/dashboard/` serves `index.html`; the files revalidate on every load so a deploy shows at once."""
    return create_static_files_router(
        path="/dashboard",
        directories=[WEB_DIR],
        html_mode=True,
        name="dashboard",
        cache_control=CacheControlHeader(no_cache=True),
        after_request=_secure,
        tags=["dashboard"],
    )


@get("/", include_in_schema=False)
async def redirect_to_dashboard() -> Redirect:
    return Redirect(path="/dashboard/")


@get("/dashboard-environment", include_in_schema=False, cache_control=CacheControlHeader(no_cache=True))
async def dashboard_environment(request: Request) -> dict[str, object]:
    """What the dashboard shows about this service: on the sandbox, a banner with the test numbers."""
    sandbox = request.app.state.ctx.settings.telegram_mode == "sandbox"
    return {
        "telegram": "sandbox" if sandbox else "telegram",
        "sandbox_numbers": (
            "+99966XYYYY (X = 1, 2 or 3, any YYYY) log in with the code XXXXX, e.g. +9996621234 with 22222"
            if sandbox
            else None
        ),
    }
