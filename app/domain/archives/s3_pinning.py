"""boto3 clients that connect only to the address the private-target check saw.

botocore resolves the endpoint's name again for every new connection, so a name that answered a public address
to the check could answer 127.0.0.1 to the connection (DNS rebinding). botocore's `before-send` event lets a
handler return the response itself, and botocore then uses it instead of sending: `PinnedSender` sends every
prepared request through a connection pool whose connections go only to the checked addresses
(`app.lib.targets.pinned_pool`). The URL, and so the `Host` header, the SigV4 signature (signed before
`before-send`) and the TLS server name, keep the endpoint's name; botocore's retries, parsing and error types are
unchanged because failures are raised as the exceptions botocore's own HTTP layer raises.
"""

from __future__ import annotations

import io
import ssl
import weakref
from collections.abc import Iterator
from typing import Any

import httpcore
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)

from app.lib.targets import CheckedTarget, pinned_pool

# Not signed by SigV4 (botocore leaves them out of the signature); httpcore does not wait for a 100 Continue,
# and it frames the body itself.
_UNSENT_HEADERS = {"expect", "transfer-encoding"}


class _BufferedBody(io.BytesIO):
    """A response body already read, shaped like the urllib3 response botocore usually wraps (`stream`, `read`)."""

    def stream(self, amt: int = 2**16) -> Iterator[bytes]:
        while chunk := self.read(amt):
            yield chunk


def _request_body(request: AWSPreparedRequest) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    data = body.read()  # botocore rewinds the stream (reset_stream) before a retry sends it again
    return data.encode() if isinstance(data, str) else bytes(data)


class PinnedSender:
    """A `before-send` handler sending each request over a connection to `target`'s checked addresses."""

    def __init__(
        self, target: CheckedTarget, *, ca_bundle: str | None, connect_timeout: float, read_timeout: float
    ) -> None:
        # The CA bundle botocore itself would verify with (AWS_CA_BUNDLE, `ca_bundle` in the AWS config), else
        # httpx's default (certifi's), so an S3-compatible store behind a private CA keeps working.
        trusted = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
        self._pool = pinned_pool(target, ssl_context=trusted)
        self._timeouts = {"connect": connect_timeout, "read": read_timeout, "write": read_timeout, "pool": read_timeout}
        # The pool's sockets close with the client that holds this handler, without a close() call from its users.
        weakref.finalize(self, self._pool.close)

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        url = request.url
        assert url is not None
        body = _request_body(request)
        headers = [
            (str(name), value.decode("latin-1") if isinstance(value, bytes) else str(value))
            for name, value in request.headers.items()
            if str(name).lower() not in _UNSENT_HEADERS
        ]
        if body and not any(name.lower() == "content-length" for name, _value in headers):
            headers.append(("Content-Length", str(len(body))))
        try:
            response = self._pool.request(
                request.method or "GET", url, headers=headers, content=body, extensions={"timeout": self._timeouts}
            )
        except httpcore.ConnectTimeout as exc:
            raise ConnectTimeoutError(endpoint_url=url, error=exc) from None
        except httpcore.ConnectError as exc:
            raise EndpointConnectionError(endpoint_url=url, error=exc) from None
        except (httpcore.ReadTimeout, httpcore.WriteTimeout, httpcore.PoolTimeout) as exc:
            raise ReadTimeoutError(endpoint_url=url, error=exc) from None
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise ConnectionClosedError(endpoint_url=url, error=exc, request=request) from None
        except httpcore.UnsupportedProtocol as exc:
            raise HTTPClientError(error=exc) from None
        received: dict[str, str] = {}
        for raw_name, raw_value in response.headers:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            received[name] = f"{received[name]}, {value}" if name in received else value
        # Read whole (S3 answers here are small: HEAD, PUT); a streamed GET is served from the buffer alike.
        return AWSResponse(url, response.status, received, _BufferedBody(response.content))


def pin_client(
    client: Any, target: CheckedTarget, *, ca_bundle: str | None, connect_timeout: float, read_timeout: float
) -> None:
    """Make every request of the boto3 `client` go to `target`'s checked addresses."""
    sender = PinnedSender(target, ca_bundle=ca_bundle, connect_timeout=connect_timeout, read_timeout=read_timeout)
    client.meta.events.register("before-send", sender)
