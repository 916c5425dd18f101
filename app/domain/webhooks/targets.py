"""Which URLs a webhook may point at: http(s) only, and, unless allowed, no loopback/private/link-local hosts.

The host is resolved and every address checked at creation, and again before each delivery, which then
connects to the address it checked (see `app.lib.targets`), so a DNS answer that changes in between is caught.
"""

from __future__ import annotations

from app.lib.errors import ValidationFailed
from app.lib.targets import CheckedTarget, TargetPolicy, TargetRefused, check_url_shape, resolve_target

__all__ = ["TargetRefused", "check_target", "validate_target"]


async def check_target(url: str, *, allow_private: bool) -> CheckedTarget:
    """Raise TargetRefused unless `url` is http(s) and (when required) resolves only to public addresses."""
    return await resolve_target(url, TargetPolicy(allow_private=allow_private))


async def validate_target(url: str, policy: TargetPolicy) -> None:
    """`resolve_target` for request input: refusals become 422 on the `url` field.

    When private targets are allowed only the shape is checked: a name may resolve later (delivery resolves it).
    """
    try:
        if policy.allow_private:
            check_url_shape(url)
        else:
            await resolve_target(url, policy)
    except TargetRefused as exc:
        raise ValidationFailed(str(exc), code="invalid_webhook_url", details=[{"field": "url"}]) from None
