"""What the webhooks endpoints receive by injection, built once at start-up from narrow inputs."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.di import Provide

from app.domain.webhooks.services import WebhookPolicy
from app.lib.crypto import SecretBox
from app.lib.di import provide_value


@dataclass(frozen=True, slots=True)
class WebhookEndpoints:
    """What creating and changing an endpoint needs: the box its secret is sealed in, and the URL policy."""

    box: SecretBox
    policy: WebhookPolicy


def dependencies(endpoints: WebhookEndpoints) -> dict[str, Provide]:
    return {"webhook_endpoints": provide_value(endpoints)}
