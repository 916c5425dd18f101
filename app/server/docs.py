"""The interactive API documentation: Swagger UI served from the service itself, so `/schema` works offline.

The UI's files come from the pinned `swagger-ui-py` package (a distribution build of Swagger UI 5, which renders
OpenAPI 3.1) and are served under `/schema/assets/`; no page of the documentation loads anything from a CDN.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

SWAGGER_UI_DIR = Path(swagger_ui.__file__).resolve().parent / "static"
ASSETS_PATH = "/schema/assets"

API_DESCRIPTION = (
    "Manage many Telegram user accounts (profiles) from one HTTP API: bind a profile by phone and code, read its "
    "conversations, send messages, follow channels, receive events over WebSocket and webhooks.\n\n"
    "Authenticate with `POST /auth/login` and send the access token as `Authorization: Bearer <token>`. "
    'Every error has one shape: `{"error": {"code", "message", "details"}}`.'
)


def docs_assets_router() -> Router:
    """The Swagger UI bundle, its stylesheet and favicon; cached for a day (they change only with the package)."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[SWAGGER_UI_DIR],
        name="docs-assets",
        cache_control=CacheControlHeader(max_age=86400),
        include_in_schema=False,
    )


def openapi_config(*, title: str, version: str, description: str) -> OpenAPIConfig:
    """`/schema` and `/schema/swagger` render Swagger UI from local assets; the document is `/schema/openapi.json`."""
    swagger = SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
        path=["/", "/swagger"],
    )
    return OpenAPIConfig(
        title=title,
        version=version,
        description=description,
        path="/schema",
        render_plugins=[swagger],
        use_handler_docstrings=True,
        components=Components(
            security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
        ),
        security=[{"BearerToken": []}],
    )
