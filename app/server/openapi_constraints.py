"""Request constraints in the OpenAPI document, read from the msgspec types the server validates bodies with.

Litestar turns `msgspec.Meta` into schema keywords only where a field has one plain type: it loses them inside
unions (`Annotated[str, Meta(max_length=255)] | int`), on list items, and puts those of optional fields beside
`oneOf` instead of on the typed option. This walks each request body's Struct with `msgspec.inspect` and writes
every bound onto the option of the matching JSON type, so the document says exactly what msgspec enforces.
Integers without bounds get the 64-bit range `app.lib.json_input` enforces on every JSON body.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.datastructures import SchemaRegistry  # private, as in openapi_contract: no public hook
from litestar._openapi.plugin import OpenAPIPlugin
from litestar._openapi.schema_generation.schema import SchemaCreator
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPI, Operation, Reference, RequestBody, Schema
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from app.lib.json_input import INT64_MAX, INT64_MIN

# Schema keywords by the JSON type they constrain (Litestar's `Schema` attribute names).
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "string": ("min_length", "max_length", "pattern"),
    "integer": ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum"),
    "number": ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum"),
    "array": ("min_items", "max_items"),
}
_ALL_KEYWORDS = {keyword for keywords in _KEYWORDS.values() for keyword in keywords}


def _json_type(schema: Schema) -> str | None:
    kind = schema.type
    return str(getattr(kind, "value", kind)) if kind is not None and not isinstance(kind, list) else None


def _bounds(info: msgspec.inspect.Type) -> tuple[str, dict[str, Any]] | None:
    """The JSON type of one msgspec type and the schema keywords of its constraints."""
    if isinstance(info, msgspec.inspect.StrType):
        return "string", {"min_length": info.min_length, "max_length": info.max_length, "pattern": info.pattern}
    if isinstance(info, msgspec.inspect.IntType):
        unbounded = info.ge is None and info.gt is None and info.le is None and info.lt is None
        return "integer", {
            "minimum": INT64_MIN if unbounded else info.ge,
            "maximum": INT64_MAX if unbounded else info.le,
            "exclusive_minimum": info.gt,
            "exclusive_maximum": info.lt,
        }
    if isinstance(info, msgspec.inspect.FloatType):
        return "number", {
            "minimum": info.ge,
            "maximum": info.le,
            "exclusive_minimum": info.gt,
            "exclusive_maximum": info.lt,
        }
    if isinstance(info, msgspec.inspect.ListType):
        return "array", {"min_items": info.min_length, "max_items": info.max_length}
    return None


def _options(info: msgspec.inspect.Type) -> list[msgspec.inspect.Type]:
    while isinstance(info, msgspec.inspect.Metadata):
        info = info.type
    if isinstance(info, msgspec.inspect.UnionType):
        return [option for member in info.types for option in _options(member)]
    return [info]


def _typed_options(schema: Schema) -> list[Schema]:
    options = [schema, *(schema.one_of or []), *(schema.any_of or [])]
    return [option for option in options if isinstance(option, Schema) and _json_type(option)]


def _constrain(schema: Schema | Reference, info: msgspec.inspect.Type, components: dict[str, Schema]) -> None:
    """Write the bounds of `info` onto the options of `schema` with the same JSON type (recursively)."""
    members = _options(info)
    if isinstance(schema, Reference):
        _constrain_struct(schema, members, components)
        return
    options = [schema, *(schema.one_of or []), *(schema.any_of or [])]
    if len(options) > 1:  # keywords beside oneOf belong on the typed option
        for keyword in _ALL_KEYWORDS:
            setattr(schema, keyword, None)
    for option in options:
        if isinstance(option, Reference):
            _constrain_struct(option, members, components)
            continue
        for member in members:
            bounds = _bounds(member)
            if bounds is None or bounds[0] != _json_type(option):
                continue
            for keyword, value in bounds[1].items():
                if value is not None:
                    setattr(option, keyword, value)
            if isinstance(member, msgspec.inspect.ListType) and option.items is not None:
                _constrain(option.items, member.item_type, components)


def _constrain_struct(reference: Reference, members: list[msgspec.inspect.Type], components: dict[str, Schema]) -> None:
    """The fields of the Struct a reference names (components may carry a module prefix)."""
    name = reference.ref.rsplit("/", 1)[-1]
    component = components.get(name)
    if component is None or not component.properties:
        return
    for member in members:
        if isinstance(member, msgspec.inspect.StructType) and name.endswith(member.cls.__name__):
            for field in member.fields:
                prop = component.properties.get(field.encode_name)
                if prop is not None:
                    _constrain(prop, field.type, components)


# What app.lib.phones.normalize_phone accepts: separators anywhere, an optional `+` or `00`, then an E.164 number.
_SEPARATOR = r"[\s().-]*"
PHONE_PATTERN = rf"^{_SEPARATOR}(?:\+|0{_SEPARATOR}0)?{_SEPARATOR}[1-9](?:{_SEPARATOR}[0-9]){{6,14}}{_SEPARATOR}$"
PHONE_DESCRIPTION = "International number (E.164, e.g. +15551234567); spaces, dots, dashes and brackets are ignored."


def _constrain_phone(schema: Schema | Reference | None) -> None:
    if not isinstance(schema, Schema):
        return
    if schema.one_of:  # on the string option only (`null` has no pattern)
        schema.pattern = None
        for option in schema.one_of:
            _constrain_phone(option)
        schema.description = schema.description or PHONE_DESCRIPTION
    elif _is_string(schema):
        schema.pattern = PHONE_PATTERN
        schema.description = schema.description or PHONE_DESCRIPTION


def _is_string(schema: Schema) -> bool:
    return str(getattr(schema.type, "value", schema.type)) == "string"


def _request_component_names(operation: Operation) -> set[str]:
    if not isinstance(operation.request_body, RequestBody):
        return set()
    names = set()
    for media in operation.request_body.content.values():
        schema = media.schema
        options = [schema, *(schema.one_of or [])] if isinstance(schema, Schema) else [schema]
        names |= {option.ref.rsplit("/", 1)[-1] for option in options if isinstance(option, Reference)}
    return names


def constrain_phones(openapi: OpenAPI, operations: list[Operation]) -> None:
    """The phone pattern the server enforces, on every phone a request carries (body field, path or query)."""
    schemas = openapi.components.schemas or {}
    for operation in operations:
        for parameter in operation.parameters or []:
            if getattr(parameter, "name", None) == "phone":
                _constrain_phone(getattr(parameter, "schema", None))
        for name in _request_component_names(operation):
            component = schemas.get(name)
            if component is not None and component.properties and "phone" in component.properties:
                _constrain_phone(component.properties["phone"])


def body_types(app: Litestar) -> dict[tuple[str, str], Any]:
    """(method, path) -> the type each handler decodes its JSON body into."""
    found: dict[tuple[str, str], Any] = {}
    for route in app.plugins.get(OpenAPIPlugin).included_routes.values():
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            data = handler.parsed_fn_signature.parameters.get("data") if isinstance(handler, HTTPRouteHandler) else None
            if data is None:
                continue
            for method in handler.http_methods:
                found[(method, route.path_format or "/")] = data.annotation
    return found


def constrain_bodies(
    openapi: OpenAPI, operations: dict[tuple[str, str], Operation], types: dict[tuple[str, str], Any]
) -> None:
    """Every request body's bounds from the msgspec type its handler decodes it with."""
    components = openapi.components.schemas or {}
    for key, operation in operations.items():
        body_type = types.get(key)
        if body_type is None or operation.request_body is None or isinstance(operation.request_body, Reference):
            continue
        info = msgspec.inspect.type_info(body_type)
        for media in operation.request_body.content.values():
            if media.schema is not None:
                _constrain(media.schema, info, components)


def push_down_parameter_bounds(operations: dict[tuple[str, str], Operation]) -> None:
    """Litestar writes an optional parameter's bounds beside `oneOf`: move them onto its typed option."""
    for operation in operations.values():
        for parameter in operation.parameters or []:
            schema = getattr(parameter, "schema", None)
            if not isinstance(schema, Schema) or not schema.one_of:
                continue
            bounds = {keyword: getattr(schema, keyword) for keyword in _ALL_KEYWORDS if getattr(schema, keyword)}
            for option in _typed_options(schema):
                if option is schema:
                    continue
                for keyword, value in bounds.items():
                    if keyword in _KEYWORDS.get(_json_type(option) or "", ()):
                        setattr(option, keyword, value)
            for keyword in bounds:
                setattr(schema, keyword, None)


def schema_of(openapi: OpenAPI, app: Litestar, annotation: Any) -> Schema | Reference:
    """Litestar's schema of a type no handler signature names (its components join the document's)."""
    registry = SchemaRegistry()
    creator = SchemaCreator(plugins=app.plugins.openapi, schema_registry=registry)
    schema = creator.for_field_definition(FieldDefinition.from_annotation(annotation))
    openapi.components.schemas = {**registry.generate_components_schemas(), **(openapi.components.schemas or {})}
    return schema


__all__ = [
    "PHONE_DESCRIPTION",
    "PHONE_PATTERN",
    "body_types",
    "constrain_bodies",
    "constrain_phones",
    "push_down_parameter_bounds",
    "schema_of",
]
