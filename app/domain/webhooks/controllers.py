"""HTTP endpoints of webhooks: endpoints, secrets, deliveries, retries and test events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from app.db.engine import DbSession
from app.db.models import Webhook, WebhookAttempt, WebhookDelivery
from app.domain.accounts.current_user import AuthRequest
from app.domain.webhooks import services
from app.domain.webhooks.deps import WebhookEndpoints
from app.domain.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    DeliveryPage,
    WebhookCreate,
    WebhookOut,
    WebhookTestResult,
    WebhookUpdate,
    WebhookWithSecret,
)
from app.lib.logging import log_event


def _fields(webhook: Webhook) -> dict[str, object]:
    return {
        "id": webhook.id,
        "url": webhook.url,
        "description": webhook.description,
        "event_types": list(webhook.event_types),
        "status": webhook.status,
        "max_per_second": webhook.max_per_second,
        "failure_count": webhook.failure_count,
        "consecutive_failures": webhook.consecutive_failures,
        "last_success_at": webhook.last_success_at,
        "last_failure_at": webhook.last_failure_at,
        "failing_since": webhook.failing_since,
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
    }


def webhook_out(webhook: Webhook) -> WebhookOut:
    return WebhookOut(**_fields(webhook))  # type: ignore[arg-type]


def webhook_with_secret(webhook: Webhook, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret(**_fields(webhook), secret=secret)  # type: ignore[arg-type]


def delivery_out(
    delivery: WebhookDelivery, event_type: str, attempts: list[WebhookAttempt] | None = None
) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        webhook_id=delivery.webhook_id,
        event_id=delivery.event_id,
        event_type=event_type,
        status=delivery.status,
        attempt=delivery.attempt,
        next_attempt_at=delivery.next_attempt_at if delivery.status in {"pending", "failed"} else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
        updated_at=delivery.updated_at,
        attempts=None
        if attempts is None
        else [
            AttemptOut(
                id=a.id,
                attempt=a.attempt,
                status_code=a.status_code,
                response_excerpt=a.response_excerpt,
                error=a.error,
                duration_ms=a.duration_ms,
                at=a.created_at,
            )
            for a in attempts
        ],
    )


class WebhooksController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @post("/", status_code=HTTP_201_CREATED)
    async def create(
        self,
        data: JSONBody[WebhookCreate],
        request: AuthRequest,
        webhook_endpoints: NamedDependency[WebhookEndpoints],
        db_session: DbSession,
    ) -> WebhookWithSecret:
        """Register an endpoint; the response carries its signing secret, shown this once."""
        endpoints = webhook_endpoints
        webhook, secret = await services.create_webhook(
            db_session, endpoints.box, endpoints.policy, request.user.id, data
        )
        log_event(
            "info",
            "webhooks",
            "webhook.created",
            "webhook endpoint created",
            user_id=request.user.id,
            context={"webhook_id": str(webhook.id), "event_types": webhook.event_types},
        )
        return webhook_with_secret(webhook, secret)

    @get("/")
    async def list_all(self, request: AuthRequest, db_session: DbSession) -> list[WebhookOut]:
        """The caller's endpoints (never their secrets)."""
        return [webhook_out(w) for w in await services.list_webhooks(db_session, request.user.id)]

    @get("/{webhook_id:uuid}")
    async def show(self, webhook_id: UUID, request: AuthRequest, db_session: DbSession) -> WebhookOut:
        return webhook_out(await services.get_webhook(db_session, request.user.id, webhook_id))

    @patch("/{webhook_id:uuid}")
    async def change(
        self,
        webhook_id: UUID,
        data: JSONBody[WebhookUpdate],
        request: AuthRequest,
        webhook_endpoints: NamedDependency[WebhookEndpoints],
        db_session: DbSession,
    ) -> WebhookOut:
        """Change url, event types, description, rate, or status (`active` re-enables and drains the backlog)."""
        webhook = await services.update_webhook(db_session, webhook_endpoints.policy, request.user.id, webhook_id, data)
        return webhook_out(webhook)

    @delete("/{webhook_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def remove(self, webhook_id: UUID, request: AuthRequest, db_session: DbSession) -> None:
        """Delete the endpoint with its deliveries and attempts."""
        await services.delete_webhook(db_session, request.user.id, webhook_id)

    @post("/{webhook_id:uuid}/rotate-secret", status_code=HTTP_200_OK)
    async def rotate_secret(
        self,
        webhook_id: UUID,
        request: AuthRequest,
        webhook_endpoints: NamedDependency[WebhookEndpoints],
        db_session: DbSession,
    ) -> WebhookWithSecret:
        """Replace the signing secret; the new one is shown this once."""
        webhook, secret = await services.rotate_secret(db_session, webhook_endpoints.box, request.user.id, webhook_id)
        log_event(
            "info",
            "webhooks",
            "webhook.secret_rotated",
            "webhook secret rotated",
            user_id=request.user.id,
            context={"webhook_id": str(webhook.id)},
        )
        return webhook_with_secret(webhook, secret)

    @get("/{webhook_id:uuid}/deliveries")
    async def deliveries(
        self,
        webhook_id: UUID,
        request: AuthRequest,
        db_session: DbSession,
        status: Literal["pending", "succeeded", "failed", "dead"] | None = None,
        event_type: Annotated[str | None, Parameter(max_length=64)] = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: UUID | None = None,
    ) -> DeliveryPage:
        """Deliveries newest first; filter by status, event type and creation time; page with `cursor`."""
        rows, next_cursor = await services.list_deliveries(
            db_session,
            request.user.id,
            webhook_id,
            services.DeliveryFilter(status=status, event_type=event_type, since=since, until=until),
            limit=limit,
            cursor=cursor,
        )
        return DeliveryPage(items=[delivery_out(d, t) for d, t in rows], next_cursor=next_cursor)

    @get("/{webhook_id:uuid}/deliveries/{delivery_id:uuid}")
    async def delivery(
        self, webhook_id: UUID, delivery_id: UUID, request: AuthRequest, db_session: DbSession
    ) -> DeliveryOut:
        """One delivery with every attempt (status code, response excerpt, error, duration)."""
        delivery, event_type = await services.get_delivery(db_session, request.user.id, webhook_id, delivery_id)
        return delivery_out(delivery, event_type, await services.delivery_attempts(db_session, delivery.id))

    @post("/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/retry", status_code=HTTP_202_ACCEPTED)
    async def retry(
        self, webhook_id: UUID, delivery_id: UUID, request: AuthRequest, db_session: DbSession
    ) -> DeliveryOut:
        """Attempt this delivery again now, with the same `webhook-id`."""
        delivery, event_type = await services.retry_delivery(db_session, request.user.id, webhook_id, delivery_id)
        return delivery_out(delivery, event_type)

    @post("/{webhook_id:uuid}/test", status_code=HTTP_202_ACCEPTED)
    async def test(self, webhook_id: UUID, request: AuthRequest, db_session: DbSession) -> WebhookTestResult:
        """Emit a `webhook.test` event delivered to this endpoint only."""
        event_id, delivery_id = await services.send_test(db_session, request.user.id, webhook_id)
        return WebhookTestResult(event_id=event_id, delivery_id=delivery_id)
