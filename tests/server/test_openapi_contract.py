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
        if (method, path) in {("POST", "/messages/send"), ("POST", "/conversations/{conversation_id}/reply")}:
            assert {"400", "403", "409", "429", "503"} <= errors.keys(), (method, path)  # Telegram's refusals
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


# --- Bounds: every bounded input declares its bounds, and one step past each is refused ---------------------------

_BOUND_KEYWORDS = {
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "minItems",
    "maxItems",
}
# Inputs bounded by their kind rather than a number: an enum, a constant tag, a UUID, a moment, a file.
_BOUNDED_BY_KIND = {"enum", "const", "format"}
PROBE_PHONE = "+9996621234"


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _typed_options(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, components)
    options = schema.get("oneOf") or schema.get("anyOf")
    if options:
        return [typed for option in options for typed in _typed_options(option, components)]
    return [schema]


def _unbounded(where: str, schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    """Inputs (primitives, lists) that declare no bound, found through objects, unions and list items."""
    found: list[str] = []
    for option in _typed_options(schema, components):
        kind = option.get("type")
        if kind == "object":
            for name, prop in option.get("properties", {}).items():
                found += _unbounded(f"{where}.{name}", prop, components)
        elif kind == "array":
            if not _BOUND_KEYWORDS & option.keys() and where.rsplit(".", 1)[-1] != "items":
                found.append(f"{where} (array)")
            found += _unbounded(f"{where}[]", option.get("items", {}), components)
        elif kind in ("string", "integer", "number") and not (_BOUND_KEYWORDS | _BOUNDED_BY_KIND) & option.keys():
            found.append(f"{where} ({kind})")
    return found


def _bodies(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return operation.get("requestBody", {}).get("content", {})


async def test_every_bounded_input_declares_its_bounds(client):
    """Labels, emails, passwords, texts, URLs, names, page sizes, ids, cursors: nothing a request carries is open."""
    document = await _document(client)
    components = document["components"]["schemas"]
    unbounded: list[str] = []
    for method, path, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            unbounded += _unbounded(f"{method} {path} {parameter['name']}", parameter["schema"], components)
        for media_type, media in _bodies(operation).items():
            unbounded += _unbounded(f"{method} {path} {media_type}", media["schema"], components)
    assert unbounded == []
    # The ones a person would check first, with their values from the definitions the server validates with.
    register = components["Registration"]["properties"]
    assert (register["password"]["minLength"], register["password"]["maxLength"]) == (8, 1024)  # the policy
    assert register["email"]["pattern"]
    assert register["email"]["maxLength"] == 320
    send = components["SendMessage"]["properties"]
    assert send["text"]["maxLength"] == 4096
    assert {option.get("maxLength") for option in send["tg_receiver"]["oneOf"]} >= {255}
    assert _typed_options(components["StartLogin"]["properties"]["label"], components)[0]["maxLength"] == 100
    assert components["WebhookCreate"]["properties"]["url"]["maxLength"] == 2048
    events = components["WebhookCreate"]["properties"]["event_types"]
    assert (events["maxItems"], events["items"]["maxLength"]) == (32, 64)
    imported = _bodies(document["paths"]["/profiles/import"]["post"])
    assert set(imported) == {"application/json", "multipart/form-data"}


def _out_of_bounds(option: dict[str, Any], base: Any) -> list[tuple[str, Any]]:
    """(which bound, a value one step past it) for each bound of one typed option."""
    kind, past = option.get("type"), []
    if kind == "string":
        if option.get("minLength"):
            past.append(("minLength", "a" * (option["minLength"] - 1)))
        if "maxLength" in option:
            past.append(("maxLength", "a" * (option["maxLength"] + 1)))
        if "pattern" in option:
            refused = "!" * max(option.get("minLength", 1), 1)
            assert not re.search(option["pattern"], refused)
            past.append(("pattern", refused))
    elif kind in ("integer", "number"):
        if "minimum" in option:
            past.append(("minimum", int(option["minimum"]) - 1))
        if "maximum" in option:
            past.append(("maximum", int(option["maximum"]) + 1))
        if "exclusiveMinimum" in option:
            past.append(("exclusiveMinimum", option["exclusiveMinimum"]))
    elif kind == "array":
        if option.get("minItems"):
            past.append(("minItems", list(base or [])[: option["minItems"] - 1]))
        if "maxItems" in option and base:
            past.append(("maxItems", [base[0]] * (option["maxItems"] + 1)))
    return past


def _matches_tags(option: dict[str, Any], base: Any) -> bool:
    """A tagged union's option fits a base value whose tag it declares (`const`)."""
    tags = {name: prop["const"] for name, prop in option.get("properties", {}).items() if "const" in prop}
    return isinstance(base, dict) and all(base.get(name) == tag for name, tag in tags.items())


def _violations(schema: dict[str, Any], base: Any, components: dict[str, Any]) -> list[tuple[str, Any]]:
    """(where and which bound, the whole value with that one place one step out of bounds)."""
    found: list[tuple[str, Any]] = []
    for option in _typed_options(schema, components):
        if option.get("type") == "object":
            if not _matches_tags(option, base):
                continue
            for name, prop in option.get("properties", {}).items():
                for where, value in _violations(prop, base.get(name), components):
                    found.append((f".{name}{where}", {**base, name: value}))
            continue
        found += [(f" {bound}", value) for bound, value in _out_of_bounds(option, base)]
        if option.get("type") == "array" and base:
            for where, value in _violations(option.get("items", {}), base[0], components):
                found.append((f"[0]{where}", [value, *base[1:]]))
    return found


def _probe_url(path: str, operation: dict[str, Any], override: tuple[str, Any] | None = None) -> str:
    """A path to probe: the sandbox phone and ids that exist nowhere (bounds are checked before lookups): a UUID,
    or 1 for an integer id; `override` puts one path parameter's probe value in its place."""
    values = {"phone": PROBE_PHONE}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path" and parameter["name"] != "phone":
            integer = parameter.get("schema", {}).get("type") == "integer"
            values[parameter["name"]] = "1" if integer else "0190a9e2-7b7c-7000-8000-000000000001"
    if override is not None:
        values[override[0]] = str(override[1])
    return re.sub(r"\{([a-z_]+)\}", lambda m: values.get(m.group(1), m.group(0)), path)


async def _signed_in(client: AsyncTestClient[Litestar]) -> dict[str, str]:
    credentials = {"email": "prober@example.com", "password": "correct horse"}
    assert (await client.post("/auth/register", json=credentials)).status_code == 201  # the first account: admin
    tokens = (await client.post("/auth/login", json=credentials)).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_one_step_past_each_declared_bound_is_a_4xx_in_the_error_shape(client):
    document = await _document(client)
    components = document["components"]["schemas"]
    error_schema = {**components["Error"], "components": document["components"]}
    headers = await _signed_in(client)
    probes: list[tuple[str, str, str, dict[str, Any]]] = []  # method, url, what, request arguments
    for method, path, operation in _operations(document):
        url = _probe_url(path, operation)
        required = {
            p["name"]: {"phone": PROBE_PHONE, "peer": "@demo_ada"}[p["name"]]
            for p in operation.get("parameters", [])
            if p["in"] == "query" and p.get("required")
        }
        for parameter in operation.get("parameters", []):
            where = parameter["in"]
            for bound, value in _violations(parameter["schema"], None, components):
                if where == "query":
                    arguments = {"params": {**required, parameter["name"]: str(value)}, "headers": headers}
                elif where == "header":
                    arguments = {"params": required, "headers": {**headers, parameter["name"]: str(value)}}
                else:
                    arguments = {"params": required, "headers": headers}
                    url = _probe_url(path, operation, (parameter["name"], value))
                probes.append((method, url, f"{where} {parameter['name']}{bound}", arguments))
                url = _probe_url(path, operation)
        media = _bodies(operation).get("application/json")
        if media is not None:
            example = media["example"]
            jsonschema.validate(example, {**media["schema"], "components": document["components"]})
            for where, body in _violations(media["schema"], example, components):
                probes.append((method, url, f"body{where}", {"json": body, "params": required, "headers": headers}))
    assert len(probes) > 150

    answered: list[str] = []
    for method, url, what, arguments in probes:
        response = await client.request(method, url, **arguments)
        if response.status_code not in (400, 422):
            answered.append(f"{method} {url} {what}: {response.status_code} {response.text[:200]}")
            continue
        jsonschema.validate(response.json(), error_schema)
    assert answered == [], "\n".join(answered)
