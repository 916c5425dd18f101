"""The OpenAPI document says what the server does: every operation described, bodies with examples, and the
error responses in the one error shape the server really sends."""

from __future__ import annotations

import random
import re
from typing import Any

import jsonschema
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.lib.errors import ValidationFailed
from app.lib.phones import normalize_phone
from app.server.openapi_contract import PHONE_PATTERN

METHODS = ("get", "post", "put", "patch", "delete")


async def _document(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


async def test_every_operation_has_a_summary_a_description_and_body_examples(client):
    operations = _operations(await _document(client))
    assert len(operations) > 40
    for method, path, operation in operations:
        assert operation.get("summary"), (method, path)
        assert operation.get("description"), (method, path)
        for media in operation.get("requestBody", {}).get("content", {}).values():
            assert "example" in media, (method, path)


async def test_error_responses_are_the_services_error_shape(client):
    document = await _document(client)
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    for method, path, operation in _operations(document):
        errors = {status: body for status, body in operation["responses"].items() if int(status) >= 400}
        if path not in {"/auth/login", "/auth/register", "/refresh", "/auth/refresh", "/health", "/metrics"}:
            assert "401" in errors, (method, path)
        if "{" in path:
            assert "404" in errors, (method, path)
        for status, body in errors.items():
            schema = body["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


async def test_what_the_document_promises_is_what_the_server_answers(client):
    document = await _document(client)
    login = document["paths"]["/auth/login"]["post"]
    example = login["requestBody"]["content"]["application/json"]["example"]
    register = document["paths"]["/auth/register"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert (await client.post("/auth/register", json=register)).status_code == 201
    assert (await client.post("/auth/login", json=example)).status_code == 200

    error_schema = {**document["components"]["schemas"]["Error"], "components": document["components"]}
    for response in (
        await client.get("/profiles"),  # 401 missing_token
        await client.post("/auth/login", json={"email": "x"}),  # 422 validation_error
        await client.post("/auth/login", content=b"{not json", headers={"content-type": "application/json"}),
    ):
        assert str(response.status_code) in {"401", "422", "400"}
        assert str(response.status_code) in (document["paths"]["/profiles"]["get"]["responses"] | login["responses"]), (
            response.status_code
        )
        jsonschema.validate(response.json(), error_schema)


def _accepted(raw: str) -> bool:
    try:
        normalize_phone(raw)
    except ValidationFailed:
        return False
    return True


def test_the_documented_phone_pattern_accepts_exactly_what_the_server_accepts():
    pattern = re.compile(PHONE_PATTERN)
    samples = [
        "+15551234567",
        "0015551234567",
        "15551234567",
        "+1 (555) 123-45.67",
        " +9996621234 ",
        "0 0 1555123456",
        "+0155512345",
        "015551234567",
        "+1555",
        "+1234567890123456",
        "+١٥٥٥١٢٣٤٥٦٧",
        "++15551234567",
        "",
    ]
    generator = random.Random()
    samples += [
        "".join(generator.choice("+0123456789 ().-") for _ in range(generator.randint(0, 22))) for _ in range(5000)
    ]
    disagreements = [raw for raw in samples if bool(pattern.match(raw)) != _accepted(raw)]
    assert disagreements == []


async def test_every_phone_a_request_carries_has_the_pattern(client):
    document = await _document(client)
    start = document["paths"]["/profiles/start"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = document["components"]["schemas"][start["$ref"].rsplit("/", 1)[-1]]
    assert body["properties"]["phone"]["pattern"] == PHONE_PATTERN
    for path, method in (("/profiles/{phone}", "patch"), ("/logs", "get")):
        phone = next(p for p in document["paths"][path][method]["parameters"] if p["name"] == "phone")
        schema = phone["schema"]
        assert PHONE_PATTERN in {schema.get("pattern"), *(option.get("pattern") for option in schema.get("oneOf", []))}
